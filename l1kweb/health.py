"""/healthz: is the database, the broker and the data directory usable?

Anyone may ask; only staff see the details (engine, paths, exception text),
since those describe the server to whoever probes it.
"""

import os
import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from kombu import Connection


def _check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True, "engine": connection.vendor}


def _check_broker() -> dict:
    url = settings.CELERY_BROKER_URL
    if not url:
        return {"ok": True, "mode": "in-process (no broker configured)"}
    with Connection(url, connect_timeout=2, transport_options={"max_retries": 0}) as conn:
        conn.ensure_connection(max_retries=0, timeout=2)
    return {"ok": True, "mode": "broker"}


def _check_data_dir() -> dict:
    path = settings.DATA_DIR
    if not path.is_dir():
        raise OSError(f"{path} does not exist")
    if not os.access(path, os.W_OK):
        raise OSError(f"{path} is not writable")
    return {"ok": True, "path": str(path)}


CHECKS = {"database": _check_database, "broker": _check_broker, "data_dir": _check_data_dir}


@never_cache
def healthz(request):
    results = {}
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            result = check()
        except Exception as exc:  # noqa: BLE001 - any failure of a dependency means "down", reported by name
            result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        result["ms"] = round((time.monotonic() - started) * 1000, 1)
        results[name] = result
    down = [name for name, result in results.items() if not result["ok"]]
    if not (request.user.is_authenticated and request.user.is_staff):
        results = {name: {"ok": result["ok"]} for name, result in results.items()}
    body = {"status": "down" if down else "ok", "failing": down, "checks": results}
    return JsonResponse(body, status=503 if down else 200)
