"""A repeated delivery of the merge-and-index step never touches a finished or served release."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

import signatures.compute as compute
from signatures.models import GeneTopEntry, JobStage, Release, Signature, SignatureJob
from signatures.store import MANIFEST_FILE
from tests.signatures.factories import tiny_l1000_dataset

pytestmark = pytest.mark.django_db


def _served_release(tiny_world):
    dataset = tiny_l1000_dataset(tiny_world)
    call_command("compute_signatures", dataset.name, "--release", "served", "--inline", stdout=StringIO(), stderr=StringIO())
    call_command("activate_release", "served", stdout=StringIO())
    return Release.objects.get(name="served")


def _snapshot(release):
    return (
        sorted(Signature.objects.filter(release=release).values_list("sig_id", "column")),
        GeneTopEntry.objects.filter(release=release).count(),
        (release.store_dir / MANIFEST_FILE).read_bytes(),
    )


def test_a_redelivered_finish_step_leaves_the_active_release_as_it_was(tiny_world, monkeypatch):
    release = _served_release(tiny_world)
    before = _snapshot(release)
    merges = []
    monkeypatch.setattr(compute, "merge", lambda *a, **k: merges.append(1))
    # The broker redelivers the task twice, as after a visibility timeout.
    assert compute.finish_job(release.job.pk) == {"job": release.job.pk, "claimed": False}
    assert compute.finish_job(release.job.pk) == {"job": release.job.pk, "claimed": False}
    assert merges == []
    assert _snapshot(release) == before


def test_a_second_delivery_while_the_first_runs_is_refused_and_a_dead_one_is_taken_over(tiny_world):
    release = _served_release(tiny_world)
    job = release.job
    # A job in its merge stage, its release not served (as before activation).
    Release.objects.filter(pk=release.pk).update(is_active=False)
    SignatureJob.objects.filter(pk=job.pk).update(status="running", stage=JobStage.MERGE, finish_claimed_at=None, heartbeat_at=timezone.now())
    assert compute._claim_finish(job.pk) is True  # the first delivery
    assert compute._claim_finish(job.pk) is False  # a copy while the first beats its heartbeat
    SignatureJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert compute._claim_finish(job.pk) is True  # the first one's worker died: taken over
    # Taken over after the merge: the index is rebuilt, the stores are kept.
    SignatureJob.objects.filter(pk=job.pk).update(stage=JobStage.INDEX, finish_claimed_at=None)
    manifest = (release.store_dir / MANIFEST_FILE).read_bytes()
    result = compute.finish_job(job.pk)
    assert result["index_rows"] > 0 and (release.store_dir / MANIFEST_FILE).read_bytes() == manifest
    job.refresh_from_db()
    assert job.status == "done" and job.stage == JobStage.DONE


def test_the_visibility_timeout_outlasts_every_task_limit(settings):
    from signatures.tasks import finish_signature_job

    longest = max(settings.CELERY_TASK_TIME_LIMIT, finish_signature_job.time_limit)
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > longest
