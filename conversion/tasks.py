"""Celery tasks of the `gpu` queue (routed by name in settings): conversion jobs.

A task takes a job id, claims the job with a conditional update (only one
worker wins), converts chunk by chunk recording every finished chunk, and
returns a tiny dict. The part files on disk are the truth about finished
chunks, so a task redelivered after a killed worker (acks_late) or a job
resumed from the admin continues where the last one stopped, without
converting a profile twice or losing one.
"""

import logging
import socket
import threading
from pathlib import Path

from celery import shared_task
from django.db import transaction

from conversion.datasets import load_metadata, register_dataset
from conversion.models import ConversionJob, DatasetKind
from conversion.formats.errors import FormatError
from l1kweb.jobs import JobCancelled

logger = logging.getLogger(__name__)

# One model load per worker process (the gpu worker runs with concurrency 1):
# bundles keyed by (path, mtime), so a re-imported bundle file is reloaded.
_bundles: dict = {}
_bundles_lock = threading.Lock()


def get_bundle(path: Path):
    from conversion.translator.bundle import load_bundle

    key = (str(path), path.stat().st_mtime_ns)
    with _bundles_lock:
        if key not in _bundles:
            _bundles.clear()
            _bundles[key] = load_bundle(path)
        return _bundles[key]


@shared_task(name="conversion.tasks.run_conversion", ignore_result=False)
def run_conversion(job_id: int) -> dict:
    job = ConversionJob.objects.select_related("dataset", "translator").get(pk=job_id)
    if not job.claim(worker=f"{socket.gethostname()}:{run_conversion.request.hostname or 'local'}"):
        return {"job": job_id, "claimed": False, "status": job.status}
    try:
        return convert_job(job)
    except JobCancelled:
        job.mark_cancelled()
        job.append_log("Cancelled; finished chunks are kept for a resume.")
        return {"job": job_id, "status": job.status}
    except (FormatError, ValueError, OSError) as exc:
        # Bad input or a bad bundle: retrying will not help; the admin sees the sentence.
        logger.warning("Conversion job %s failed: %s", job_id, exc)
        job.fail(str(exc))
        job.append_log(f"Failed: {exc}")
        return {"job": job_id, "status": job.status}


def convert_job(job: ConversionJob, *, progress=None) -> dict:
    """Run a claimed job to the end (also used in-process by the `convert` command)."""
    from conversion.translator.infer import convert_file

    bundle = get_bundle(job.translator.file)
    out = job.output_file
    out.parent.mkdir(parents=True, exist_ok=True)
    job.chunks_total = job.plan_chunks()
    ConversionJob.objects.filter(pk=job.pk).update(chunks_total=job.chunks_total)
    job.append_log(
        f"Converting {job.dataset.n_profiles} profiles of {job.dataset.name} with {job.translator} in "
        f"{job.chunks_total} chunks of {job.chunk_size} (device {job.device}, {'float16' if job.float16 else 'float32'})."
    )

    def on_chunk(done: int, total: int) -> None:
        job.chunks_total = total
        job.beat(chunks_done=done)  # raises JobCancelled when an admin cancelled
        if progress:
            progress(done, total)

    summary = convert_file(
        bundle, job.dataset.file, out, chunk_size=job.chunk_size, device=job.device, float16=job.float16,
        progress=on_chunk, start_chunk=job.chunks_done,
    )
    metadata = load_metadata(job.dataset) if job.dataset.metadata_path else None
    with transaction.atomic():
        output = register_dataset(
            job.output_name, out, kind=DatasetKind.RNASEQ_LIKE, metadata=metadata, source=job.dataset, translator=job.translator,
            description=f"{job.dataset.name} converted by {job.translator} (job {job.pk}).",
        )
        ConversionJob.objects.filter(pk=job.pk).update(output=output)
    job.append_log(
        f"Done: {summary['n_profiles']} profiles x {summary['n_genes']} genes in {summary['seconds']} s "
        f"({summary['chunks_computed']} chunks computed now, {summary['chunks'] - summary['chunks_computed']} reused); registered as {output.name}."
    )
    job.finish()
    return {"job": job.pk, "status": job.status, "output": output.pk, "profiles": summary["n_profiles"]}
