"""The Celery application: JSON only, settings from Django's CELERY_* names."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "l1kweb.settings")

app = Celery("l1kweb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(name) for name in ("default", "signatures", "gpu")]
app.autodiscover_tasks()


@app.task(name="l1kweb.ping", ignore_result=False)
def ping(token: str) -> dict:
    """Round-trip check used by /healthz and the worker integration test."""
    return {"token": token, "hostname": ping.request.hostname}
