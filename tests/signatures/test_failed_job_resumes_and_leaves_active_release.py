"""A batch that fails leaves the active release served; resuming recomputes only unfinished batches."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

import signatures.compute as compute
from signatures.models import Release, ReleaseStatus, SignatureBatch
from tests.signatures.factories import tiny_l1000_dataset

pytestmark = pytest.mark.django_db


def _compute(*args):
    call_command("compute_signatures", *args, "--inline", stdout=StringIO(), stderr=StringIO())


def test_failed_batch_keeps_the_active_release_and_resume_finishes(tiny_world, monkeypatch):
    dataset = tiny_l1000_dataset(tiny_world)
    _compute(dataset.name, "--release", "served")
    call_command("activate_release", "served", stdout=StringIO())

    real = compute.compute_batch_values
    calls = []

    def dies_on_third_batch(X, batch, **kw):  # a worker killed mid-job, injected at one batch
        calls.append(batch.name)
        if len(calls) == 3:
            raise MemoryError("worker killed")
        return real(X, batch, **kw)

    monkeypatch.setattr(compute, "compute_batch_values", dies_on_third_batch)
    with pytest.raises(CommandError, match="failed and the active release is unchanged: batch 2 .*worker killed"):
        _compute(dataset.name, "--release", "broken")
    broken = Release.objects.get(name="broken")
    assert broken.status == ReleaseStatus.FAILED and broken.job.status == "failed"
    assert Release.active().name == "served"
    with pytest.raises(ValueError, match="only a complete release with its index can be activated"):
        broken.activate()
    done_before = SignatureBatch.objects.filter(job=broken.job, status="done").count()
    assert done_before == 2

    calls.clear()
    monkeypatch.setattr(compute, "compute_batch_values", lambda X, batch, **kw: calls.append(batch.name) or real(X, batch, **kw))
    _compute(dataset.name, "--resume", "broken")
    broken.refresh_from_db()
    n_batches = SignatureBatch.objects.filter(job=broken.job).count()
    assert len(calls) == n_batches - done_before  # finished batches were not recomputed
    assert broken.status == ReleaseStatus.COMPLETE and broken.index_built
    assert Release.active().name == "served"  # activation stays an admin's explicit step


def test_deleting_the_active_release_is_refused_and_others_lose_their_files(tiny_world):
    dataset = tiny_l1000_dataset(tiny_world)
    _compute(dataset.name, "--release", "a")
    _compute(dataset.name, "--release", "b")
    call_command("activate_release", "a", stdout=StringIO())
    with pytest.raises(CommandError, match="Release a is active"):
        call_command("delete_release", "a", stdout=StringIO())
    directory = Release.objects.get(name="b").store_dir
    assert directory.exists()
    call_command("delete_release", "b", stdout=StringIO())
    assert not directory.exists() and not Release.objects.filter(name="b").exists()
