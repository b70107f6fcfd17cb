"""Celery tasks (queue `signatures`): each takes primary keys, calls signatures.compute, returns a tiny dict."""

from celery import shared_task
from django.conf import settings

from l1kweb.jobs import RETRY_TRANSIENT
from signatures import compute


@shared_task(name="signatures.tasks.run_signature_job", **RETRY_TRANSIENT)
def run_signature_job(job_id: int) -> dict:
    """Plan the job's batches and queue those not done yet."""
    return compute.run_job(job_id)


@shared_task(name="signatures.tasks.compute_signature_batch", acks_late=True, **RETRY_TRANSIENT)
def compute_signature_batch(job_id: int, index: int) -> dict:
    """One batch -> its own chunk file; idempotent, so a redelivered task just redoes or skips it."""
    return compute.compute_batch(job_id, index)


LONG_STEP_LIMIT = settings.CELERY_LONG_TASK_TIME_LIMIT


@shared_task(name="signatures.tasks.finish_signature_job", time_limit=LONG_STEP_LIMIT, soft_time_limit=LONG_STEP_LIMIT - 60, **RETRY_TRANSIENT)
def finish_signature_job(job_id: int) -> dict:
    """Merge the chunks into the release stores, load Signature rows, build the per-gene index."""
    return compute.finish_job(job_id)


@shared_task(name="signatures.tasks.build_release_index", time_limit=LONG_STEP_LIMIT, soft_time_limit=LONG_STEP_LIMIT - 60)
def build_release_index(release_id: int) -> dict:
    """Rebuild one release's per-gene index (admin action)."""
    from signatures.index import build_index
    from signatures.models import Release

    release = Release.objects.get(pk=release_id)
    return {"release": release_id, "rows": build_index(release)}
