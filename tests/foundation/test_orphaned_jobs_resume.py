"""A job whose worker died (heartbeat stale) is detected and resumed from its last finished chunk."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

import signatures.compute as compute
from signatures.models import Release, ReleaseStatus, SignatureBatch, SignatureJob
from tests.signatures.factories import tiny_l1000_dataset

pytestmark = pytest.mark.django_db


def test_a_job_whose_worker_died_is_listed_and_resumed_without_redoing_finished_batches(tiny_world, monkeypatch, django_capture_on_commit_callbacks):
    dataset = tiny_l1000_dataset(tiny_world)
    release = compute.start_release(dataset, name="interrupted", enqueue=False)
    real = compute.compute_batch_values
    done = []

    def killed_during_second_batch(X, batch, **kw):
        if len(done) == 1:
            raise KeyboardInterrupt  # the process dies: nothing marks the job failed
        done.append(batch.name)
        return real(X, batch, **kw)

    monkeypatch.setattr(compute, "compute_batch_values", killed_during_second_batch)
    with pytest.raises(KeyboardInterrupt):
        compute.run_job(release.job.pk, progress=lambda items, desc: items)
    job = SignatureJob.objects.get(pk=release.job.pk)
    assert job.status == "running" and not job.is_orphaned
    n_batches = SignatureBatch.objects.filter(job=job).count()
    assert n_batches > 2
    SignatureJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))

    listing = StringIO()
    call_command("jobs", stdout=listing)
    assert "orphaned" in listing.getvalue() and "1 orphaned job(s)" in listing.getvalue()

    recomputed = []
    monkeypatch.setattr(compute, "compute_batch_values", lambda X, batch, **kw: recomputed.append(batch.name) or real(X, batch, **kw))
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):  # Celery runs in-process here: the job completes
        call_command("jobs", "--resume-orphaned", stdout=out)
    assert "Resumed SignatureJob" in out.getvalue()

    release = Release.objects.get(pk=release.pk)
    assert release.status == ReleaseStatus.COMPLETE and release.job.status == "done"
    assert len(recomputed) == n_batches - 1  # the finished batch was kept


def test_a_running_job_with_a_fresh_heartbeat_is_not_orphaned(tiny_world):
    dataset = tiny_l1000_dataset(tiny_world)
    job = compute.start_release(dataset, name="alive", enqueue=False).job
    assert job.claim("live-worker")  # claimed and beating
    out = StringIO()
    call_command("jobs", "--resume-orphaned", stdout=out)
    assert "No orphaned jobs." in out.getvalue()
    job.refresh_from_db()
    assert job.status == "running" and job.worker == "live-worker"
