"""A real gpu-queue worker process is killed mid-conversion; the resumed job loses and repeats nothing."""

import os
import signal
import subprocess
import time
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from conversion.formats.gctx import GctxReader
from conversion.models import ConversionJob
from conversion.translator.infer import parts_dir
from tests.celery_broker import private_broker_url, start_worker, stop_worker, using_broker

from .helpers import registered_pair

# A private Redis database (tests.parallel) so that no other test process's tasks reach these workers.
BROKER = private_broker_url()

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _start_worker(data_dir) -> subprocess.Popen:
    return start_worker("gpu", broker=BROKER, data_dir=data_dir)


def _stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
    stop_worker(proc, sig)


def _wait_for(predicate, proc, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    _stop(proc)
    raise AssertionError("timed out; worker output:\n" + proc.stdout.read().decode(errors="replace")[-3000:])


@pytest.fixture
def broker():
    with using_broker(BROKER, purge=("gpu",)):
        yield


def test_a_job_whose_worker_was_killed_resumes_on_a_new_worker_without_losing_or_repeating_profiles(data_dir, broker):
    translator, dataset, bundle, landmarks = registered_pair(data_dir, n_samples=300)
    # One profile per chunk: 300 chunks, so the kill lands mid-way.
    job = ConversionJob.start(dataset, translator, chunk_size=1, device="cpu")
    first = _start_worker(data_dir)
    try:
        _wait_for(lambda: ConversionJob.objects.get(pk=job.pk).chunks_done >= 20, first)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    finally:
        _stop(first)
    job.refresh_from_db()
    killed_at = job.chunks_done
    assert job.status == "running" and 20 <= killed_at < 300
    assert not dataset.derived.exists()
    parts_left = len(list(parts_dir(job.output_file).glob("chunk_*.npy")))
    assert parts_left >= killed_at

    # Ten minutes without a heartbeat make the job orphaned; we age it rather than wait.
    ConversionJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=11))
    job.refresh_from_db()
    job.resume()
    second = _start_worker(data_dir)
    try:
        _wait_for(lambda: ConversionJob.objects.get(pk=job.pk).status == "done", second)
    finally:
        _stop(second)
    job.refresh_from_db()
    assert f"{300 - parts_left} chunks computed now, {parts_left} reused" in job.log
    with GctxReader(job.output.file) as reader:
        assert list(reader.col_ids) == [f"S{i:03d}" for i in range(300)]
        np.testing.assert_allclose(reader.read(), bundle.predict(landmarks), rtol=1e-5, atol=1e-5)
