"""A long step without chunks keeps its job's heartbeat fresh, so it is never taken for orphaned."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from l1kweb.jobs import keep_alive
from signatures.models import SignatureJob
from tests.signatures.factories import tiny_l1000_dataset

pytestmark = pytest.mark.django_db(transaction=True)  # the heartbeat thread commits on its own connection


def test_keep_alive_beats_while_the_step_runs_and_stops_after(tiny_world):
    import signatures.compute as compute

    job = compute.start_release(tiny_l1000_dataset(tiny_world), name="long-merge", enqueue=False).job
    stale = timezone.now() - timedelta(hours=1)
    SignatureJob.objects.filter(pk=job.pk).update(status="running", heartbeat_at=stale)
    job.refresh_from_db()
    assert job.is_orphaned

    with keep_alive(job, every=0.05):
        time.sleep(0.5)  # the long step
        job.refresh_from_db()
        assert job.heartbeat_at > stale and not job.is_orphaned
    beaten = SignatureJob.objects.get(pk=job.pk).heartbeat_at
    time.sleep(0.2)
    assert SignatureJob.objects.get(pk=job.pk).heartbeat_at == beaten  # the thread stopped with the step
