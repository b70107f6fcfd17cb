"""Compute a release: plan batches, compute each batch into its own chunk file, merge.

Django orchestration around the plain numerics (signatures.batches, .cd,
.foldchange, .store). The steps, each idempotent:

1. ``start_release``: a Release (building) and its SignatureJob; the job task
   is queued after commit.
2. ``run_job`` (task ``signatures.tasks.run_signature_job``): claims the job,
   plans the batches from the dataset's metadata, records one SignatureBatch
   per batch and queues ``compute_batch`` for every batch not done yet.
3. ``compute_batch`` (task per batch, queue ``signatures``): reads the batch's
   profiles, computes CD and log2FC and writes
   ``releases/.<name>.chunks/<index>.h5`` beside the release's store directory
   (temporary name, then ``os.replace``). The task that finishes the last
   batch moves the job to the merge with one conditional UPDATE, so exactly
   one merge starts.
4. ``merge`` (task ``signatures.tasks.finish_signature_job``): writes the
   release stores into a fresh directory that is swapped in for
   ``releases/<name>/`` when complete (signatures.store.StoreWriter),
   signatures ordered by perturbation type so that each type is one contiguous
   column range, and bulk-loads the Signature rows (COPY on PostgreSQL); the
   release is then complete. Then the per-gene index (signatures.index) is
   built in one transaction.

A killed worker leaves its batch pending, or its merge's temporary directory
(removed when the merge is retried), or an index transaction that the
database rolls back; ``resume_job`` (admin, command) requeues the job, only
pending batches are recomputed, and a merge that finished is not redone. Until
the index is built and an admin activates the release, the search keeps
serving the previously active release.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from conversion.files import atomic_path, remove_leftovers
from conversion.models import Dataset
from l1kweb.bulk import copy_rows
from l1kweb.jobs import STALE_AFTER, TRANSIENT_ERRORS, JobCancelled, JobStatus, hand_back, keep_alive
from l1kweb.paths import resolve_data_path, stored_data_path
from signatures.batches import CONTROL_MODES, DEFAULT_CONTROLS, BatchPlan, batch_from_dict, batch_to_dict, compute_batch as compute_batch_values, plan_batches
from signatures.models import BatchStatus, CellLine, JobStage, Release, ReleaseStatus, Signature, SignatureBatch, SignatureJob
from signatures.store import StoreWriter

log = logging.getLogger(__name__)

# Signatures per write when the merge assembles the stores (bounded memory:
# MERGE_BLOCK x n_genes x 2 float32).
MERGE_BLOCK = 2048
PERT_TYPE_ORDER = ("crispr", "chemical", "shrna", "overexpression", "ligand", "other")


class ComputeError(Exception):
    """A release that cannot be computed as asked; the message names what is wrong."""


# --- starting, resuming, cancelling (the admin, the command and the tasks use these) ---


def start_release(dataset: Dataset, *, controls: str = DEFAULT_CONTROLS, min_replicates: int = 2, gamma: float = 1.0, name: str | None = None, user=None, enqueue: bool = True) -> Release:
    """Create a building Release and its SignatureJob; queue the job after commit."""
    if controls not in CONTROL_MODES:
        raise ComputeError(f"--controls must be one of {', '.join(CONTROL_MODES)}, found {controls!r}.")
    if min_replicates < 1:
        raise ComputeError(f"--min-replicates must be at least 1, found {min_replicates}.")
    if not 0.0 <= gamma <= 1.0:
        raise ComputeError(f"--gamma must be between 0 and 1, found {gamma}.")
    name = name or default_release_name(dataset)
    if not re.fullmatch(r"[-a-zA-Z0-9_]+", name):
        raise ComputeError(f"Release name {name!r} must be a slug (letters, digits, - and _).")
    if Release.objects.filter(name=name).exists():
        raise ComputeError(f"A release named {name!r} exists already; pick another --release name.")
    translator = dataset.translator
    with transaction.atomic():
        release = Release.objects.create(
            name=name,
            dataset=dataset,
            params={"controls": controls, "min_replicates": min_replicates, "gamma": gamma},
            directory=f"releases/{name}",
            model_version=f"{translator.name} {translator.version}" if translator else "",
            created_by=user,
        )
        job = SignatureJob.objects.create(release=release, created_by=user)
        if enqueue:
            from signatures.tasks import run_signature_job

            transaction.on_commit(lambda: run_signature_job.delay(job.pk))
    return release


def default_release_name(dataset: Dataset) -> str:
    base = slugify(f"{dataset.name}-{timezone.now():%Y%m%d-%H%M%S}")[:90]
    name, n = base, 1
    while Release.objects.filter(name=name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def resume_job(job: SignatureJob, *, enqueue: bool = True) -> None:
    """Requeue a failed, cancelled or orphaned job; finished batches are kept.

    With enqueue=False (the command's --inline) the caller runs it in-process.
    """
    job.resume(enqueue=enqueue)


def delete_release(release: Release) -> None:
    """Delete a release's rows and files; the active release is refused."""
    if release.is_active:
        raise ComputeError(f"Release {release.name} is active; activate another release before deleting it.")
    job = SignatureJob.objects.filter(release=release).first()
    if job is not None and job.is_live:
        raise ComputeError(f"Release {release.name} is being computed (job {job.pk} is {job.status}); cancel the job before deleting the release.")
    directory = release.store_dir
    chunks = chunks_dir(release)
    with transaction.atomic():
        from signatures.models import GeneTopEntry

        GeneTopEntry.objects.filter(release=release).delete()
        release.delete()
    remove_leftovers(directory)
    for path in (directory, chunks):
        if path.exists():
            shutil.rmtree(path)


# --- the job ---


def load_profile_metadata(dataset: Dataset) -> pd.DataFrame:
    from conversion.datasets import load_metadata

    return load_metadata(dataset)


def plan_for(release: Release) -> BatchPlan:
    params = release.params or {}
    meta = load_profile_metadata(release.dataset)
    if len(meta) != release.dataset.n_profiles and release.dataset.n_profiles:
        raise ComputeError(f"Dataset {release.dataset.name}: metadata has {len(meta)} rows but the matrix {release.dataset.n_profiles} profiles.")
    return plan_batches(meta, controls=params.get("controls", "all"), min_replicates=int(params.get("min_replicates", 2)))


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_job(job_id: int, *, progress=None) -> dict:
    """Claim the job, record its batches and queue (or, with `progress`, run here) the pending ones."""
    job = SignatureJob.objects.select_related("release__dataset").get(pk=job_id)
    if not job.claim(_worker_name()):
        return {"job": job_id, "claimed": False}
    release = job.release
    try:
        plan = plan_for(release)
        if plan.n_signatures == 0:
            raise ComputeError(
                f"Dataset {release.dataset.name} gives no signature with {release.params}: "
                f"{plan.skipped_groups} groups and {plan.skipped_batches} batches skipped. Try --min-replicates 1 or --controls all."
            )
        existing = set(SignatureBatch.objects.filter(job=job).values_list("index", flat=True))
        SignatureBatch.objects.bulk_create(
            [
                SignatureBatch(job=job, index=i, name=b.name, n_profiles=len(b.positions), n_signatures=len(b.groups), plan=batch_to_dict(b))
                for i, b in enumerate(plan.batches)
                if i not in existing
            ]
        )
        SignatureJob.objects.filter(pk=job.pk).update(chunks_total=len(plan.batches))
        job.refresh_from_db()
        pending = _pending_batches(job)
        job.beat(
            chunks_done=len(plan.batches) - len(pending),
            message=(
                f"{plan.n_signatures} signatures in {len(plan.batches)} batches; skipped {plan.skipped_groups} groups, "
                f"{plan.skipped_batches} batches, {plan.skipped_profiles} profiles without a plate; {len(pending)} batches to compute."
            ),
        )
        for note in plan.notes[:50]:
            job.append_log(note)
    except JobCancelled:
        job.mark_cancelled()
        return {"job": job_id, "cancelled": True}
    except TRANSIENT_ERRORS:
        raise  # the task is retried; the job stays as it is
    except Exception as exc:
        _fail(job, exc)
        raise
    if progress is not None:
        # Everything in this process (the command's --inline, the embedded demo).
        for index in progress(pending, desc="batches"):
            compute_batch(job.pk, index, then_merge=False)
        if _claim_merge(job.pk):
            finish_job(job.pk, progress=progress)
        return {"job": job_id, "batches": len(pending)}
    if not pending:
        _maybe_start_merge(job.pk)
        return {"job": job_id, "batches": 0}
    from signatures.tasks import compute_signature_batch

    for index in pending:
        compute_signature_batch.delay(job.pk, index)
    return {"job": job_id, "batches": len(pending)}


def _pending_batches(job: SignatureJob) -> list[int]:
    return [batch.index for batch in SignatureBatch.objects.filter(job=job).order_by("index") if not _batch_done(batch)]


def _batch_done(batch: SignatureBatch) -> bool:
    """A batch is done when its row says so and the chunk file it names exists."""
    return batch.status == BatchStatus.DONE and bool(batch.path) and resolve_data_path(batch.path).exists()


def chunks_dir(release: Release) -> Path:
    """The batches' chunk files, beside the store directory (which a merge replaces whole)."""
    store = release.store_dir
    return store.with_name(f".{store.name}.chunks")


def chunk_path(release: Release, index: int) -> Path:
    return chunks_dir(release) / f"{index:06d}.h5"


def compute_batch(job_id: int, index: int, *, then_merge: bool = True) -> dict:
    """Compute one batch into its chunk file (idempotent); the last batch starts the merge."""
    job = SignatureJob.objects.select_related("release__dataset").get(pk=job_id)
    if job.status != JobStatus.RUNNING or job.cancel_requested:
        if job.cancel_requested and job.status == JobStatus.RUNNING:
            job.mark_cancelled()
        return {"job": job_id, "batch": index, "skipped": job.status}
    release = job.release
    record = SignatureBatch.objects.get(job=job, index=index)
    path = chunk_path(release, index)
    started = time.perf_counter()
    try:
        if not _batch_done(record):
            batch = batch_from_dict(record.plan)  # planned once by run_job; no re-read of the metadata
            from conversion.formats import open_matrix

            with open_matrix(release.dataset.file) as reader:
                X = reader.read(cols=batch.positions)  # (profiles of the batch, genes)
            cd, logfc = compute_batch_values(X, batch, gamma=float(release.params.get("gamma", 1.0)))
            _write_chunk(path, [g.sig_id for g in batch.groups], cd, logfc)
            SignatureBatch.objects.filter(pk=record.pk).update(
                status=BatchStatus.DONE,
                path=stored_data_path(path),
                seconds=time.perf_counter() - started,
                finished_at=timezone.now(),
            )
        done = SignatureBatch.objects.filter(job=job, status=BatchStatus.DONE).count()
        job.beat(chunks_done=done)
    except JobCancelled:
        job.mark_cancelled()
        return {"job": job_id, "batch": index, "cancelled": True}
    except TRANSIENT_ERRORS:
        raise  # the task is retried; the batch is idempotent
    except Exception as exc:
        _fail(job, exc, where=f"batch {index} ({record.name})")
        raise
    if then_merge and done == job.chunks_total:
        _maybe_start_merge(job.pk)
    return {"job": job_id, "batch": index, "signatures": record.n_signatures}


def _write_chunk(path: Path, sig_ids: list[str], cd: np.ndarray, logfc: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("sig_ids", data=np.array([s.encode() for s in sig_ids]))
        f.create_dataset("cd", data=cd, dtype="float32")  # (groups, genes)
        f.create_dataset("logfc", data=logfc, dtype="float32")


def _claim_merge(job_id: int) -> bool:
    """Move a running job whose batches are all done to the merge; True for the one caller that wins."""
    pending = SignatureBatch.objects.filter(job_id=job_id).exclude(status=BatchStatus.DONE).exists()
    return not pending and bool(SignatureJob.objects.filter(pk=job_id, stage=JobStage.BATCHES, status=JobStatus.RUNNING).update(stage=JobStage.MERGE))


def _maybe_start_merge(job_id: int) -> None:
    if _claim_merge(job_id):
        from signatures.tasks import finish_signature_job

        transaction.on_commit(lambda: finish_signature_job.delay(job_id))


def _fail(job: SignatureJob, exc: Exception, *, where: str = "") -> None:
    message = f"{where}: {exc}" if where else str(exc)
    log.exception("Signature job %s failed: %s", job.pk, message)
    job.fail(message)
    # A complete release (merged; the index failed) keeps its status: its
    # stores and rows are whole, and a resumed job only builds the index.
    Release.objects.filter(pk=job.release_id, is_active=False).exclude(status=ReleaseStatus.COMPLETE).update(status=ReleaseStatus.FAILED)


def _claim_finish(job_id: int) -> bool:
    """True for the one caller that may merge and index: the job runs, its batches
    are done, its release is not served, and no live finish step holds the claim
    (one whose heartbeat stopped, a killed worker's, may be taken over)."""
    now = timezone.now()
    unclaimed = Q(finish_claimed_at__isnull=True) | Q(heartbeat_at__lt=now - STALE_AFTER)
    return bool(
        SignatureJob.objects.filter(unclaimed, pk=job_id, status=JobStatus.RUNNING, stage__in=[JobStage.MERGE, JobStage.INDEX], release__is_active=False)
        .update(finish_claimed_at=now, heartbeat_at=now)
    )


def finish_job(job_id: int, *, progress=None) -> dict:
    """Merge the chunks into the release stores, load Signature rows, build the index.

    Runs once per job: a repeated delivery of this step (Celery redelivers an
    unacknowledged task) finds the claim taken, the job done or the release
    active, and returns without touching the stores.
    """
    from signatures.index import build_index

    if not _claim_finish(job_id):
        return {"job": job_id, "claimed": False}
    job = SignatureJob.objects.select_related("release__dataset").get(pk=job_id)
    release = job.release
    try:
        # The merge ends by marking the release complete; a release that is
        # complete was merged by an earlier run of this step (killed or failed
        # while it built the index) and its stores and rows are kept.
        if release.status != ReleaseStatus.COMPLETE:
            job.beat(message="Merging batch chunks into the release stores.")
            # We hold the finish claim, so no other merge of this release is
            # alive: what a killed one left beside the store directory goes.
            removed = remove_leftovers(release.store_dir)
            if removed:
                job.append_log(f"Removed {len(removed)} unfinished store directories left by an earlier, killed merge.")
            with keep_alive(job):
                n = merge(release, progress=progress)
            SignatureJob.objects.filter(pk=job.pk).update(stage=JobStage.INDEX)
        else:
            SignatureJob.objects.filter(pk=job.pk).update(stage=JobStage.INDEX)
            n = release.n_signatures
            job.beat(message="Stores already merged by an earlier run; building the index again.")
        job.beat(message=f"Stores written: {n} signatures x {release.n_genes} genes. Building the per-gene index.")
        with keep_alive(job):
            n_rows = build_index(release, progress=progress)
        job.append_log(f"Index built: {n_rows} rows.")
        job.beat(message="Writing the release's signature table and README and hashing its downloadable files.")
        with keep_alive(job):
            from signatures.release_files import write_release_files

            files = write_release_files(release)
        SignatureJob.objects.filter(pk=job.pk).update(stage=JobStage.DONE)
        job.append_log(f"Downloadable files: {len(files)}, {sum(f.size for f in files) / 1e6:.1f} MB, SHA-256 in {release.store_dir.name}/files.json.")
        job.finish()
    except JobCancelled:
        job.mark_cancelled()
        return {"job": job_id, "cancelled": True}
    except TRANSIENT_ERRORS:
        hand_back(SignatureJob.objects.filter(pk=job.pk), finish_claimed_at=None)  # the retry claims the step again
        raise
    except Exception as exc:
        _fail(job, exc, where="merge")
        raise
    return {"job": job_id, "signatures": n, "index_rows": n_rows}


def release_genes(dataset: Dataset) -> tuple[np.ndarray, list[str]]:
    """The dataset's genes as Entrez ids (int64) with symbols, in matrix row order."""
    from conversion.formats import open_matrix
    from conversion.formats.l1000 import row_entrez_ids

    with open_matrix(dataset.file) as reader:
        row_meta = reader.row_meta
        entrez = row_entrez_ids(reader)
    if (entrez < 0).any():
        source = np.asarray(row_meta["pr_gene_id"] if "pr_gene_id" in row_meta.columns else row_meta.index)
        bad = str(source[np.flatnonzero(entrez < 0)[0]])[:40]
        raise ComputeError(f"Dataset {dataset.name}: genes must be keyed by Entrez id (row ids or pr_gene_id), found {bad!r}.")
    for column in ("pr_gene_symbol", "symbol", "gene_symbol"):
        if column in row_meta.columns:
            return entrez, [str(s) for s in row_meta[column].to_numpy()]
    from conversion.models import Gene

    known = dict(Gene.objects.filter(entrez_id__in=[int(e) for e in entrez]).values_list("entrez_id", "symbol"))
    return entrez, [known.get(int(e), str(e)) for e in entrez]


def merge(release: Release, *, progress=None) -> int:
    """Write the release stores from the chunk files and bulk-load its Signature rows."""
    records = list(SignatureBatch.objects.filter(job__release=release).order_by("index"))
    plan = BatchPlan(batches=[batch_from_dict(r.plan) for r in records])
    groups = [(bi, gi, g) for bi, b in enumerate(plan.batches) for gi, g in enumerate(b.groups)]
    # Column order: by perturbation type, then batch, then group, so each type
    # is one contiguous column range (signatures.index streams per type).
    type_rank = {t: i for i, t in enumerate(PERT_TYPE_ORDER)}
    groups.sort(key=lambda x: (type_rank.get(x[2].pert_type, len(PERT_TYPE_ORDER)), x[0], x[1]))
    entrez, symbols = release_genes(release.dataset)
    directory = release.store_dir
    n = len(groups)
    with StoreWriter(directory, entrez, n, symbols=symbols) as writer:
        buffer_ids, buffer_cd, buffer_fc, buffer_meta = [], [], [], []
        start = 0
        open_chunk: tuple[int, str, np.ndarray, np.ndarray, np.ndarray] | None = None  # batch, file, sig_ids, cd, logfc

        def flush():
            nonlocal start
            if buffer_ids:
                writer.write(start, buffer_ids, np.stack(buffer_cd), np.stack(buffer_fc), col_meta=pd.DataFrame(buffer_meta).to_dict("list"))
                start += len(buffer_ids)
                for b in (buffer_ids, buffer_cd, buffer_fc, buffer_meta):
                    b.clear()

        iterator = progress(groups, desc="merge") if progress is not None else groups
        for bi, gi, g in iterator:
            if open_chunk is None or open_chunk[0] != bi:
                # A batch's chunk is read whole, once (a few tens of MB: one plate's signatures);
                # three HDF5 reads per signature cost more than the copy at a million signatures.
                open_chunk = None
                if not _batch_done(records[bi]):
                    raise ComputeError(f"The chunk file of batch {plan.batches[bi].name} is missing; resume the job to recompute it.")
                with h5py.File(resolve_data_path(records[bi].path), "r") as f:
                    open_chunk = (bi, f.filename, f["sig_ids"][:], f["cd"][:], f["logfc"][:])
            _, filename, chunk_ids, chunk_cd, chunk_fc = open_chunk
            stored_id = chunk_ids[gi].decode() if gi < len(chunk_ids) else None
            if stored_id != g.sig_id:
                raise ComputeError(f"Chunk {filename} holds {stored_id} at row {gi}, expected {g.sig_id}: recompute the batch.")
            buffer_ids.append(g.sig_id)
            buffer_cd.append(chunk_cd[gi].copy())  # a copy: a view would keep the whole chunk alive until the flush
            buffer_fc.append(chunk_fc[gi].copy())
            buffer_meta.append({"pert_id": g.pert_id, "pert_iname": g.pert_name, "pert_type": g.pert_type, "cell_id": g.cell_id, "batch": g.batch})
            if len(buffer_ids) >= MERGE_BLOCK:
                flush()
        flush()
    _load_signatures(release, plan, [(bi, g) for bi, _, g in groups])
    reliability, conversion = _load_model_evaluation(release)
    Release.objects.filter(pk=release.pk).update(
        status=ReleaseStatus.COMPLETE, n_signatures=n, n_genes=len(entrez), completed_at=timezone.now(), index_built=False,
        reliability=reliability, conversion=conversion,
    )
    release.refresh_from_db()
    return n


def _load_model_evaluation(release: Release) -> tuple[dict, dict]:
    """Copy into the release what its model and its profiles say about themselves, so the release keeps
    it whatever happens to the model later: the per-gene reliability the model's bundle recorded
    (GeneReliability rows; evaluate_translator) and how the profiles were converted (device, precision).
    Returns (Release.reliability, Release.conversion)."""
    from conversion.translator.bundle import read_reliability
    from conversion.translator.infer import read_conversion_description
    from signatures.models import GeneReliability

    dataset = release.dataset
    conversion = read_conversion_description(dataset.file)
    translator = dataset.translator
    recorded = read_reliability(translator.file) if translator is not None and translator.file.is_file() else {}
    with transaction.atomic():
        GeneReliability.objects.filter(release=release).delete()
        if not recorded:
            return {}, conversion
        rows = (
            (release.pk, int(e), float(p), float(r))
            for e, p, r in zip(recorded["entrez_ids"], recorded["pcc"], recorded["rmse"])
            if np.isfinite(p)  # NaN: a gene the paired set lacks, so not measured
        )
        copy_rows(GeneReliability, ("release_id", "entrez_id", "pcc", "rmse"), rows)
    source = {k: recorded[k] for k in ("n_samples", "paired_set", "evaluated_at") if k in recorded}
    return {**source, "model": f"{translator.name} {translator.version}", "n_genes": len(recorded["entrez_ids"])}, conversion


SIGNATURE_COLUMNS = (
    "release_id", "sig_id", "column", "pert_type", "pert_id", "pert_name", "cell_line_id",
    "dose", "dose_unit", "time", "time_unit", "batch", "n_replicates", "n_controls", "controls", "target_gene", "pert_targets", "pert_moa",
)  # fmt: skip


def _load_signatures(release: Release, plan: BatchPlan, ordered) -> None:
    """Replace the release's Signature rows (COPY on PostgreSQL, bulk_create elsewhere)."""
    cells = sorted({g.cell_id for _, g in ordered})
    CellLine.objects.bulk_create([CellLine(name=c) for c in cells], ignore_conflicts=True)
    cell_ids = dict(CellLine.objects.filter(name__in=cells).values_list("name", "pk"))
    rows = (
        (
            release.pk, g.sig_id, column, g.pert_type, g.pert_id, g.pert_name[:200], cell_ids[g.cell_id],
            g.dose, g.dose_unit, g.time, g.time_unit, g.batch, len(g.positions), plan.batches[bi].n_controls(g),
            plan.batches[bi].controls, g.target_gene[:50], g.pert_targets[:500], g.pert_moa[:500],
        )  # fmt: skip
        for column, (bi, g) in enumerate(ordered)
    )
    with transaction.atomic():
        Signature.objects.filter(release=release).delete()
        copy_rows(Signature, SIGNATURE_COLUMNS, rows)
