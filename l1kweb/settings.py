"""Settings for l1kweb, read from the environment (see docs/configuration.md).

With no DATABASE_URL and no broker configured, the site runs on an embedded
default (SQLite under DATA_DIR, Celery tasks executed in-process) so that the
demo works on a fresh machine. Production and the test suite set both.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from l1kweb.env import env_bool, env_float, env_int, env_list, env_path, env_rate, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)
# L1KWEB_ENV=production turns the start-up guards below on.
PRODUCTION = env_str("L1KWEB_ENV", "development") == "production"

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when L1KWEB_ENV=production.")
    SECRET_KEY = "l1kweb-development-key-not-for-production"
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when L1KWEB_ENV=production.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if not PRODUCTION else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# All large files (model bundles, profile and signature matrices) live here.
DATA_DIR = env_path("DATA_DIR", BASE_DIR / "var" / "data")
# Folders (besides DATA_DIR) whose files admins may register in place, read-only:
# the multi-GB GEO/LINCS downloads. Nothing is ever written there.
IMPORT_ROOTS = env_list("IMPORT_ROOTS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "axes",
    "l1kweb",
    "conversion",
    "signatures",
    "search",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into a 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "l1kweb.urls"
WSGI_APPLICATION = "l1kweb.wsgi.application"
ASGI_APPLICATION = "l1kweb.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "search.context_processors.site",
            ],
        },
    },
]

DATABASE_URL = env_url("DATABASE_URL", schemes=("postgres", "postgresql", "sqlite"))
EMBEDDED = DATABASE_URL is None
if EMBEDDED:
    # The embedded default keeps its database in DATA_DIR, which a fresh checkout does not have yet.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "l1kweb.sqlite3",
            "OPTIONS": {"timeout": 30},
        }
    }
else:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0))}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("DB_PREPARED_STATEMENTS", default=True):
        # Parameters bound by the server, and a statement run 5 times on a connection prepared there, so
        # PostgreSQL parses and plans the search's few query shapes once per connection (docs/configuration.md).
        # Off behind a pooler in transaction mode (PgBouncer before 1.21), which cannot keep prepared statements.
        DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-axes first: a locked-out client is refused before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env_path("STATIC_ROOT", BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = DATA_DIR / "uploads"

# Celery: broker and result backend in Redis; with none configured, tasks run
# in-process (the embedded default).
REDIS_URL = env_url("REDIS_URL", schemes=("redis", "rediss"))
CELERY_BROKER_URL = env_url("CELERY_BROKER_URL", schemes=("redis", "rediss", "memory"), default=REDIS_URL)
CELERY_RESULT_BACKEND = env_url("CELERY_RESULT_BACKEND", schemes=("redis", "rediss"), default=CELERY_BROKER_URL if CELERY_BROKER_URL and CELERY_BROKER_URL.startswith("redis") else None)
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TASK_ACKS_LATE = True  # a killed worker's chunk is redelivered and redone
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 6 * 3600, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 6 * 3600 - 60, minimum=1)
# Merging and indexing a full release take hours (docs/real-data.md): those
# tasks run under this longer limit.
CELERY_LONG_TASK_TIME_LIMIT = env_int("CELERY_LONG_TASK_TIME_LIMIT", 48 * 3600, minimum=1)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis redelivers an unacknowledged task after the visibility timeout: it must
# outlast the longest task, or a running merge would be delivered twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": max(CELERY_TASK_TIME_LIMIT, CELERY_LONG_TASK_TIME_LIMIT) + 600}
CELERY_TASK_DEFAULT_QUEUE = "default"
# Queues (declared in l1kweb/celery.py): `default` (light work), `signatures`
# (CPU-heavy batches), `gpu` (training and conversion; one process per GPU).
CELERY_TASK_ROUTES = {
    "conversion.tasks.*": {"queue": "gpu"},
    "signatures.tasks.*": {"queue": "signatures"},
}

if REDIS_URL or (CELERY_BROKER_URL and CELERY_BROKER_URL.startswith("redis")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL or CELERY_BROKER_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# How many reverse proxies stand in front of gunicorn (0: clients connect directly).
# Throttling and login lock-outs use it to find the real client address.
NUM_PROXIES = env_int("NUM_PROXIES", 0, minimum=0) or None

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "search.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # Sessions only: the public API takes no passwords, so it offers no
    # password-guessing target (Basic authentication is deliberately absent).
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_THROTTLE_CLASSES": ["search.throttling.ApiThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_rate("API_ANON_RATE", "600/minute"),
        "pages": env_rate("PAGE_ANON_RATE", "300/minute"),  # search.throttling
        "downloads": env_rate("DOWNLOAD_ANON_RATE", "60/minute"),
    },
    "EXCEPTION_HANDLER": "l1kweb.api_errors.exception_handler",
    # Throttles key on the client address; behind N reverse proxies the client is
    # the N-th address from the right of X-Forwarded-For (unset: REMOTE_ADDR).
    "NUM_PROXIES": NUM_PROXIES,
}
# search.response_cache: results are immutable per release, so responses are cached and revalidated by ETag.
RESPONSE_CACHE_MAX_AGE = env_int("RESPONSE_CACHE_MAX_AGE", 60, minimum=0)  # seconds a browser or proxy may reuse a response unasked
RESPONSE_CACHE_TIMEOUT = env_int("RESPONSE_CACHE_TIMEOUT", 3600, minimum=1)  # seconds a response stays in the server's cache
# Genes the model predicts with a gene-wise Pearson r below this on its paired evaluation carry a warning (search.provenance).
RELIABILITY_WARNING_BELOW = env_float("RELIABILITY_WARNING_BELOW", 0.3, minimum=-1.0, maximum=1.0)
RESPONSE_CACHE_MAX_BYTES = env_int("RESPONSE_CACHE_MAX_BYTES", 4 * 1024 * 1024, minimum=0)  # larger responses are not stored
SPECTACULAR_SETTINGS = {
    "TITLE": "l1kweb API",
    "DESCRIPTION": "Gene-centric reverse search over RNA-seq-like L1000 signatures.",
    "VERSION": "1.0.0",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "search.api_docs.list_active_cell_lines"],
}

# Marks every page as showing synthetic demo data (set by `manage.py demo`).
DEMO_DATA = env_bool("L1KWEB_DEMO_DATA", default=EMBEDDED)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Admin logins: after AXES_FAILURE_LIMIT failures from one client address and
# user name, that pair is locked out for AXES_COOLOFF_MINUTES (answer 429).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 30, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["ip_address", "username"]]
AXES_IPWARE_PROXY_COUNT = NUM_PROXIES
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if NUM_PROXIES else ["REMOTE_ADDR"]
AXES_RESET_ON_SUCCESS = True

# Content-Security-Policy: every script is a file under /static/ (there is no
# inline script); Plotly adds <style> elements at run time, hence
# 'unsafe-inline' for styles only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto (docs/deployment.md).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    # /healthz is probed over plain HTTP from inside the deployment.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=True)

# Serve static files straight from the app and project folders when they have
# not been collected (the demo); production images run collectstatic.
WHITENOISE_USE_FINDERS = True
