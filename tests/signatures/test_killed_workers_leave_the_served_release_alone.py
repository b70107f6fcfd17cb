"""Real worker processes killed while a release is merged or indexed, and finish tasks delivered again.

Throughout, the active release answers the API exactly as before; the killed
job, resumed with ``manage.py jobs --resume-orphaned``, is completed by a new
worker, and the database shows that nothing ran twice.
"""

import json
import os
import signal
import subprocess
import time
from datetime import timedelta
from io import StringIO

import pytest
from celery.result import AsyncResult
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

import signatures.compute as compute
from conversion.models import Gene
from l1kweb.celery import app
from search import stores
from signatures.models import GeneTopEntry, JobStage, Release, ReleaseStatus, Signature, SignatureBatch, SignatureJob
from signatures.store import GENE_MAJOR_FILE, MANIFEST_FILE, open_store
from signatures.tasks import finish_signature_job
from tests.celery_broker import private_broker_url, start_worker, stop_worker, using_broker
from tests.signatures.factories import tiny_l1000_dataset, wide_l1000_dataset

# A private Redis database so that other suites' tasks never reach these workers.
BROKER = private_broker_url()
# 12 plates x 300 single-well perturbagens = 3,600 signatures over 600 genes:
# on 2 cores the merge writes its temporary store for about a second and the
# index build takes about two, long enough to be caught in the act.
WIDE = {"n_plates": 12, "n_compounds": 240, "n_knockouts": 60, "n_genes": 600}
N_WIDE = 12 * 300

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


# --- worker processes ---


def _start_worker(data_dir) -> subprocess.Popen:
    return start_worker("signatures", broker=BROKER, data_dir=data_dir)


def _stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
    stop_worker(proc, sig)


def _kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _wait_for(predicate, proc, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    _stop(proc)
    raise AssertionError(f"timed out waiting for {what}; worker output:\n" + proc.stdout.read().decode(errors="replace")[-3000:])


@pytest.fixture
def broker():
    """The private broker, with no message of an earlier run left in its queue or unacknowledged."""

    def forget_unacked():
        with app.connection_for_write() as conn:
            channel = conn.default_channel
            channel.client.delete(channel.unacked_key, channel.unacked_index_key, channel.unacked_mutex_key)

    with using_broker(BROKER, purge=("signatures",)):
        forget_unacked()
        yield
        forget_unacked()


def _redeliver_unacknowledged() -> list[tuple[str, str]]:
    """What the Redis transport does once a message has been unacknowledged past the
    visibility timeout: put it back in its queue. Returns (task name, task id) of each."""
    with app.connection_for_write(transport_options={"visibility_timeout": 0}) as conn:
        channel = conn.default_channel
        headers = [json.loads(v)[0]["headers"] for v in channel.client.hvals(channel.unacked_key)]
        channel.qos.restore_visible(num=100, interval=1)
    return [(h["task"], h["id"]) for h in headers]


# --- the served release and what it answers ---


@pytest.fixture
def served(tiny_world):
    """The tiny world's release, computed in-process and active, with the gene registry to look it up."""
    call_command("import_genes", tiny_world["gene_info"], "--ncbi", tiny_world["ncbi_gene_info"], stdout=StringIO())
    dataset = tiny_l1000_dataset(tiny_world)
    call_command("compute_signatures", dataset.name, "--release", "served", "--inline", stdout=StringIO(), stderr=StringIO())
    call_command("activate_release", "served", stdout=StringIO())
    return Release.objects.get(name="served")


QUERIES = (
    "type=chemical&direction=up&metric=cd",  # from the index
    "type=crispr&direction=down&metric=logfc",
    "type=chemical&direction=down&metric=rank&cell_line=A375",  # filtered: read from the store
)


def _answers(client, release) -> dict:
    """The API's answers for a few genes of `release`, its store opened afresh from disk."""
    stores.clear()
    genes = sorted(set(GeneTopEntry.objects.filter(release=release).values_list("gene_id", flat=True)))[:3]
    out = {}
    for symbol in Gene.objects.filter(pk__in=genes).values_list("symbol", flat=True):
        for query in QUERIES:
            response = client.get(f"/api/genes/{symbol}/signatures/?{query}")
            assert response.status_code == 200, response.content
            out[(symbol, query)] = response.json()
    assert len(out) == 3 * len(QUERIES)
    return out


# --- what the database and the disk say ---


def _leftovers(release) -> list[str]:
    d = release.store_dir
    return sorted(p.name for pattern in (f".{d.name}.tmp-*", f".{d.name}.old-*") for p in d.parent.glob(pattern))


def _batches(job) -> list[tuple]:
    return list(SignatureBatch.objects.filter(job=job).order_by("index").values_list("index", "status", "finished_at", "seconds"))


def _aged_and_resumed(job) -> None:
    # Ten minutes without a heartbeat make the job orphaned; we age it rather than wait.
    SignatureJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=11))
    out = StringIO()
    call_command("jobs", "--resume-orphaned", stdout=out)
    assert f"Resumed SignatureJob {job.pk}" in out.getvalue()


def _index_copy_in_flight() -> bool:
    """Another session is inside a transaction that has begun COPYing the per-gene index."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND xact_start IS NOT NULL AND query LIKE %s",
            [f"COPY {connection.ops.quote_name(GeneTopEntry._meta.db_table)}%"],
        )
        return cursor.fetchone()[0] > 0


def _assert_complete_once(release, job, *, batches_before) -> None:
    """The job finished, every batch and signature once, its index once and whole."""
    job.refresh_from_db()
    release.refresh_from_db()
    assert job.status == "done" and job.stage == JobStage.DONE and job.finish_claimed_at is not None
    assert release.status == ReleaseStatus.COMPLETE and release.index_built and not release.is_active
    assert _batches(job) == batches_before  # no batch recomputed
    assert release.n_signatures == N_WIDE == Signature.objects.filter(release=release).count()
    entries = GeneTopEntry.objects.filter(release=release)
    keys = list(entries.values_list("gene_id", "pert_type", "direction", "signature_id"))
    assert len(keys) == len(set(keys)) > 0
    assert not entries.exclude(signature__release=release).exists()
    assert job.log.count("Index built:") == 1 and f"Index built: {len(keys)} rows." in job.log
    assert _leftovers(release) == []
    release.check_files()  # what activation checks: the stores hold exactly the release's signatures


def _snapshot(release, job) -> tuple:
    """Everything a repeated step could change: rows, their ids, the job's record and the store's files."""
    job.refresh_from_db()
    store = release.store_dir
    return (
        sorted(Signature.objects.filter(release=release).values_list("pk", "sig_id", "column")),
        sorted(GeneTopEntry.objects.filter(release=release).values_list("pk", flat=True)),
        job.status, job.stage, job.finish_claimed_at, job.finished_at, job.log,
        store.stat().st_ino, [(store / f).stat().st_mtime_ns for f in (GENE_MAJOR_FILE, MANIFEST_FILE)],
    )  # fmt: skip


def _redelivered_finish_changes_nothing(release, job, worker) -> None:
    """The message the killed worker never acknowledged, redelivered: refused, nothing changes."""
    before = _snapshot(release, job)
    redelivered = _redeliver_unacknowledged()
    assert [name for name, _ in redelivered] == [finish_signature_job.name]
    try:
        assert AsyncResult(redelivered[0][1]).get(timeout=30) == {"job": job.pk, "claimed": False}
    except Exception:
        _stop(worker)
        raise AssertionError("the redelivered task got no answer; worker output:\n" + worker.stdout.read().decode(errors="replace")[-3000:])
    assert _snapshot(release, job) == before


# --- the tests ---


def _start_and_kill_when(data_dir, moment, what: str):
    """Start the wide release on a worker and SIGKILL the worker once `moment(release, job)` holds."""
    release = compute.start_release(wide_l1000_dataset(data_dir, **WIDE), name="next", min_replicates=1)
    job = release.job
    worker = _start_worker(data_dir)
    try:
        _wait_for(lambda: moment(release, job), worker, what)
        _kill(worker)
    finally:
        _stop(worker)
    return release, job


def test_a_worker_killed_while_it_merges_leaves_no_store_and_the_resumed_job_merges_once(data_dir, broker, served, client):
    answers = _answers(client, served)
    release, job = _start_and_kill_when(
        data_dir,
        lambda release, job: any((data_dir / "releases" / name / GENE_MAJOR_FILE).exists() for name in _leftovers(release)),
        "the merge to write its temporary store",
    )

    # Killed in the act: the half-written store is only in its temporary directory.
    job.refresh_from_db()
    release.refresh_from_db()
    assert job.status == "running" and job.stage == JobStage.MERGE
    assert len(_leftovers(release)) == 1 and not release.store_dir.exists()
    assert release.status == ReleaseStatus.BUILDING and not Signature.objects.filter(release=release).exists()
    assert _answers(client, served) == answers
    batches = _batches(job)
    assert len(batches) == 12 and all(b[1] == "done" for b in batches)

    resumed_at = timezone.now()
    _aged_and_resumed(job)
    second = _start_worker(data_dir)
    try:
        _wait_for(lambda: SignatureJob.objects.get(pk=job.pk).status in ("done", "failed"), second, "the resumed job")
        _assert_complete_once(release, job, batches_before=batches)
        assert job.finish_claimed_at > resumed_at
        assert job.log.count("Merging batch chunks") == 2  # the killed merge and the resumed one
        assert "Removed 1 unfinished store directories left by an earlier, killed merge." in job.log
        with open_store(release.store_dir) as store:
            assert store.n_signatures == N_WIDE and sorted(store.sig_ids) == sorted(Signature.objects.filter(release=release).values_list("sig_id", flat=True))
        _redelivered_finish_changes_nothing(release, job, second)
    finally:
        _stop(second)
    assert _answers(client, served) == answers


def test_a_worker_killed_while_it_builds_the_index_leaves_no_rows_and_the_resumed_job_only_builds_the_index(data_dir, broker, served, client):
    answers = _answers(client, served)
    release, job = _start_and_kill_when(
        data_dir,
        lambda release, job: SignatureJob.objects.get(pk=job.pk).stage == JobStage.INDEX and _index_copy_in_flight(),
        "the index build to COPY rows",
    )

    # Killed in the act: the index transaction dies with the worker's connection.
    job.refresh_from_db()
    release.refresh_from_db()
    assert job.status == "running" and job.stage == JobStage.INDEX
    assert release.status == ReleaseStatus.COMPLETE and not release.index_built
    assert not GeneTopEntry.objects.filter(release=release).exists()
    assert _answers(client, served) == answers
    batches = _batches(job)
    signatures = sorted(Signature.objects.filter(release=release).values_list("pk", "sig_id", "column"))
    assert len(signatures) == N_WIDE
    store = (release.store_dir.stat().st_ino, (release.store_dir / MANIFEST_FILE).stat().st_mtime_ns)

    _aged_and_resumed(job)
    second = _start_worker(data_dir)
    try:
        _wait_for(lambda: SignatureJob.objects.get(pk=job.pk).status in ("done", "failed"), second, "the resumed job")
        _assert_complete_once(release, job, batches_before=batches)
        # The merge that had finished is not redone: the same Signature rows, the same store directory.
        assert sorted(Signature.objects.filter(release=release).values_list("pk", "sig_id", "column")) == signatures
        assert (release.store_dir.stat().st_ino, (release.store_dir / MANIFEST_FILE).stat().st_mtime_ns) == store
        assert job.log.count("Merging batch chunks") == 1 and "Stores already merged by an earlier run" in job.log
        _redelivered_finish_changes_nothing(release, job, second)
    finally:
        _stop(second)
    assert _answers(client, served) == answers


def test_finish_tasks_delivered_twice_more_after_completion_change_nothing(data_dir, broker, served, client, tiny_world):
    answers = _answers(client, served)
    release = compute.start_release(tiny_l1000_dataset(tiny_world), name="next")
    job = release.job
    worker = _start_worker(data_dir)
    try:
        _wait_for(lambda: SignatureJob.objects.get(pk=job.pk).status in ("done", "failed"), worker, "the job")
        job.refresh_from_db()
        assert job.status == "done" and job.log.count("Merging batch chunks") == 1 and job.log.count("Index built:") == 1
        before = _snapshot(release, job)
        results = [finish_signature_job.delay(job.pk) for _ in range(2)]
        try:
            assert [r.get(timeout=30) for r in results] == [{"job": job.pk, "claimed": False}] * 2
        except Exception:
            _stop(worker)
            raise AssertionError("the finish tasks got no answer; worker output:\n" + worker.stdout.read().decode(errors="replace")[-3000:])
    finally:
        _stop(worker)
    assert _snapshot(release, job) == before
    assert _leftovers(release) == []
    assert _answers(client, served) == answers
