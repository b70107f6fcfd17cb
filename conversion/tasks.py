"""Celery tasks of the `gpu` queue (routed by name in settings): conversion and training jobs.

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

from conversion.datasets import allowed_matrix_path, load_metadata, register_dataset
from conversion.models import ConversionJob, DatasetKind, TrainingJob, TranslatorModel
from conversion.formats.errors import FormatError
from l1kweb.jobs import RETRY_TRANSIENT, STALE_AFTER, TRANSIENT_ERRORS, JobCancelled, JobStatus, hand_back, keep_alive

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


def _recheck_later(task, job) -> None:
    """A running job we could not claim: either a live worker has it, or its worker was
    killed and the broker redelivered this task before the heartbeat went stale. Look
    again once it could be stale, so a killed worker's job resumes without an admin."""
    if job.status == JobStatus.RUNNING and not task.request.is_eager:
        task.apply_async((job.pk,), countdown=int(STALE_AFTER.total_seconds()) + 60)


def _run_claimed(task, job, work, *, kept: str) -> dict:
    """Claim `job` and run `work(job)`; record a cancel, or a failure that retrying cannot fix."""
    if not job.claim(worker=f"{socket.gethostname()}:{task.request.hostname or 'local'}"):
        _recheck_later(task, job)
        return {"job": job.pk, "claimed": False, "status": job.status}
    try:
        return work(job)
    except JobCancelled:
        job.mark_cancelled()
        job.append_log(f"Cancelled; {kept} are kept for a resume.")
        return {"job": job.pk, "status": job.status}
    except TRANSIENT_ERRORS:
        hand_back(type(job).objects.filter(pk=job.pk, status=JobStatus.RUNNING), status=JobStatus.QUEUED)  # the retry claims it
        raise
    except (FormatError, ValueError, OSError) as exc:
        # Bad input or a bad bundle: retrying will not help; the admin sees the sentence.
        logger.warning("%s %s failed: %s", type(job).__name__, job.pk, exc)
        job.fail(str(exc))
        job.append_log(f"Failed: {exc}")
        return {"job": job.pk, "status": job.status}


@shared_task(name="conversion.tasks.run_conversion", ignore_result=False, **RETRY_TRANSIENT)
def run_conversion(job_id: int) -> dict:
    job = ConversionJob.objects.select_related("dataset", "translator").get(pk=job_id)
    return _run_claimed(run_conversion, job, convert_job, kept="finished chunks")


def convert_job(job: ConversionJob, *, progress=None) -> dict:
    """Run a claimed job to the end (also used in-process by the `convert` command)."""
    from conversion.translator.infer import convert_file

    job.refuse_an_output_in_use()  # a release may have been built from the output since the job was queued
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

    # Assembling the parts into one GCTX and registering it have no chunks to beat on.
    with keep_alive(job):
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


@shared_task(name="conversion.tasks.run_training", ignore_result=False, **RETRY_TRANSIENT)
def run_training(job_id: int) -> dict:
    job = TrainingJob.objects.get(pk=job_id)
    return _run_claimed(run_training, job, train_job, kept="epoch checkpoints")


def train_job(job: TrainingJob) -> dict:
    """Train, save the bundle under DATA_DIR/models/, register it, evaluate it if a paired set is given."""
    from conversion.training import train_from_files

    config = job.config()
    step1, step2 = config.cyclegan.epochs, config.extrapolator.max_epochs
    TrainingJob.objects.filter(pk=job.pk).update(chunks_total=step1 + step2)
    job.chunks_total = step1 + step2
    # A matrix may be a dataset manifest: its members are checked as well (conversion.datasets).
    path = lambda p: allowed_matrix_path(p) if p else None  # noqa: E731

    def progress(stage, epoch, total, losses):
        # Epochs done so far: step 1's, then step 1's budget plus step 2's.
        job.beat(chunks_done=epoch if stage == "step1" else step1 + epoch)
        if epoch == total or epoch % 10 == 0:
            job.append_log(f"{stage} epoch {epoch}/{total}: " + ", ".join(f"{k} {v:.4g}" for k, v in losses.items() if k != "epoch"))

    bundle = train_from_files(
        l1000=path(job.l1000_path), rnaseq=path(job.rnaseq_path), out=job.bundle_file, config=config, version=job.version,
        gene_info=path(job.gene_info_path), output_genes=path(job.output_genes_path), max_l1000=job.max_l1000,
        max_rnaseq=job.max_rnaseq, seed=job.seed, device=job.device, progress=progress, say=job.append_log,
    )
    if job.paired_l1000_path and job.paired_rnaseq_path:
        from conversion.translator.evaluate import evaluate_bundle, gene_reliability, load_paired_for_bundle

        _, x, truth = load_paired_for_bundle(bundle, path(job.paired_l1000_path), path(job.paired_rnaseq_path))
        result = evaluate_bundle(bundle, x, truth)
        bundle.metrics = result["summary"]
        bundle.reliability = gene_reliability(result, paired_set=f"{Path(job.paired_l1000_path).name} + {Path(job.paired_rnaseq_path).name} (log2)")
        bundle.save(job.bundle_file)
        s = bundle.metrics["all_genes"]["two-step model"]
        job.append_log(f"Paired evaluation: sample PCC {s['sample_pcc']['median']:.3f}, gene PCC {s['gene_pcc']['median']:.3f} (medians).")
    translator = TranslatorModel.register_bundle(job.bundle_file, name=job.name, activate=job.activate,
                                                 description=f"Trained by job {job.pk} ({config.size}).")
    TrainingJob.objects.filter(pk=job.pk).update(translator=translator)
    job.append_log(f"Registered {translator}{' and made it active' if translator.is_active else ''}.")
    job.finish()
    return {"job": job.pk, "status": job.status, "translator": translator.pk}
