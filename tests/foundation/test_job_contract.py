"""One job contract: resume is a conditional update with one error type for a wrong state."""

from datetime import timedelta

import pytest
from django.utils import timezone

import signatures.compute as compute
from l1kweb.jobs import JobStateError
from signatures.models import Release, ReleaseStatus, SignatureJob
from tests.signatures.factories import tiny_l1000_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_job(tiny_world):
    job = compute.start_release(tiny_l1000_dataset(tiny_world), name="failing", enqueue=False).job
    job.claim("w1")
    job.fail("worker killed")
    return job


def test_two_resumes_at_once_queue_the_job_once(failed_job, django_capture_on_commit_callbacks):
    first, second = SignatureJob.objects.get(pk=failed_job.pk), SignatureJob.objects.get(pk=failed_job.pk)
    with django_capture_on_commit_callbacks() as queued:
        first.resume()
        with pytest.raises(JobStateError, match=r"is queued: only failed, cancelled or orphaned jobs can be resumed"):
            second.resume()  # its in-memory copy still says failed; the database says queued
    assert len(queued) == 1
    assert SignatureJob.objects.get(pk=failed_job.pk).status == "queued"


@pytest.mark.parametrize("state", ["done", "running", "queued"])
def test_resuming_a_job_in_a_state_that_does_not_allow_it_names_the_state(failed_job, state):
    SignatureJob.objects.filter(pk=failed_job.pk).update(status=state, heartbeat_at=timezone.now())
    failed_job.refresh_from_db()
    with pytest.raises(JobStateError, match=f"is {state}"):
        failed_job.resume()
    with pytest.raises(JobStateError, match=f"is {state}"):
        compute.resume_job(failed_job, enqueue=False)


def test_an_orphaned_job_resumes_and_a_live_one_does_not(failed_job, django_capture_on_commit_callbacks):
    SignatureJob.objects.filter(pk=failed_job.pk).update(status="running", heartbeat_at=timezone.now() - timedelta(hours=1))
    failed_job.refresh_from_db()
    with django_capture_on_commit_callbacks() as queued:
        failed_job.resume()
    assert len(queued) == 1 and failed_job.status == "queued"
    assert failed_job.release.__class__.objects.get(pk=failed_job.release_id).status == ReleaseStatus.BUILDING


def test_a_release_whose_job_is_queued_or_running_cannot_be_deleted(failed_job):
    release = failed_job.release
    for state in ("queued", "running"):
        SignatureJob.objects.filter(pk=failed_job.pk).update(status=state, heartbeat_at=timezone.now())
        with pytest.raises(compute.ComputeError, match=f"is being computed \\(job {failed_job.pk} is {state}\\)"):
            compute.delete_release(Release.objects.get(pk=release.pk))
    assert Release.objects.filter(pk=release.pk).exists()


def test_activation_rechecks_completeness_in_its_own_update(tiny_world):
    from io import StringIO

    from django.core.management import call_command

    call_command("compute_signatures", tiny_l1000_dataset(tiny_world).name, "--release", "r", "--inline", stdout=StringIO(), stderr=StringIO())
    release = Release.objects.get(name="r")
    # Another process reopens the release between this object's load and its activation.
    Release.objects.filter(pk=release.pk).update(index_built=False)
    with pytest.raises(ValueError, match="changed while it was being activated"):
        release.activate()
    assert Release.active() is None
