# One image for web, worker and gpu-worker. On linux/amd64, PyPI's torch 2.13.0
# wheel is the CUDA build, so the same image runs on the GPU worker.
FROM python:3.11-slim-bookworm

# Production settings unless the environment says otherwise: the site then
# refuses to start without SECRET_KEY and ALLOWED_HOSTS (docs/deployment.md).
# The index kernel's compiled code (numba) is cached under DATA_DIR: /app is read-only, and a cache
# there outlives a container, so a new one does not compile again (3 to 7 s, signatures/topk_kernel.py).
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    L1KWEB_ENV=production DATA_DIR=/data STATIC_ROOT=/app/staticfiles NUMBA_CACHE_DIR=/data/cache/numba

RUN apt-get update && apt-get install -y --no-install-recommends libpq5 curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 l1kweb \
    && mkdir -p /data /app && chown l1kweb:l1kweb /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY l1kweb l1kweb
COPY conversion conversion
COPY signatures signatures
COPY search search
RUN pip install "torch==2.13.0" && pip install .
# The code and the collected static files belong to root: the runtime user can
# read them but write only under DATA_DIR.
COPY . .
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && chmod -R a-w,a+rX /app

USER l1kweb
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
CMD ["gunicorn", "l1kweb.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4", "--timeout", "120"]
