"""A lost database or broker connection retries the task; any other error fails the job with its sentence."""

import pytest
from django.db import OperationalError

import signatures.compute as compute
from signatures.models import SignatureBatch, SignatureJob
from signatures.tasks import compute_signature_batch, run_signature_job
from tests.signatures.factories import tiny_l1000_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def planned_job(tiny_world, monkeypatch):
    release = compute.start_release(tiny_l1000_dataset(tiny_world), name="flaky", enqueue=False)
    # Plan the batches without running them (the batch tasks are sent one by one below).
    monkeypatch.setattr(compute_signature_batch, "delay", lambda *args: None)
    run_signature_job.delay(release.job.pk)
    return SignatureJob.objects.get(pk=release.job.pk)


def test_a_batch_that_loses_the_database_once_is_retried_and_finishes(planned_job, monkeypatch):
    real, calls = compute.compute_batch_values, []

    def connection_lost_once(X, batch, **kw):
        calls.append(batch.name)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(X, batch, **kw)

    monkeypatch.setattr(compute, "compute_batch_values", connection_lost_once)
    # apply() runs the retry in-process, as a worker would after the backoff.
    result = compute_signature_batch.apply(args=(planned_job.pk, 0), throw=False).get()
    assert result["batch"] == 0 and result["signatures"] > 0
    assert len(calls) == 2  # the first attempt, then the retry
    planned_job.refresh_from_db()
    assert planned_job.status == "running" and planned_job.error == ""
    assert SignatureBatch.objects.get(job=planned_job, index=0).status == "done"


def test_any_other_error_fails_the_job_with_its_sentence_and_is_not_retried(planned_job, monkeypatch):
    calls = []

    def broken(X, batch, **kw):
        calls.append(batch.name)
        raise ValueError("matrix has NaN in column 3")

    monkeypatch.setattr(compute, "compute_batch_values", broken)
    with pytest.raises(ValueError):
        compute_signature_batch.apply(args=(planned_job.pk, 0), kwargs={}, throw=True).get()
    assert len(calls) == 1
    planned_job.refresh_from_db()
    assert planned_job.status == "failed" and "matrix has NaN in column 3" in planned_job.error
