from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from conversion.datasets import load_metadata
from conversion.formats.gctx import GctxReader
from conversion.models import ConversionJob, Dataset
from conversion.tasks import run_conversion
from conversion.translator.infer import convert_file, parts_dir
from l1kweb.celery import app

from .helpers import registered_pair

pytestmark = pytest.mark.django_db


def test_conversion_tasks_are_routed_to_the_gpu_queue():
    assert app.amqp.router.route({}, "conversion.tasks.run_conversion")["queue"].name == "gpu"


def test_a_started_job_converts_every_profile_and_registers_the_output(data_dir, django_capture_on_commit_callbacks):
    translator, dataset, bundle, landmarks = registered_pair(data_dir)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = ConversionJob.start(dataset, translator, chunk_size=10, device="cpu")
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.status == "done" and job.chunks_done == job.chunks_total == 3 and job.progress == 1.0
    output = job.output
    assert output.kind == "rnaseq_like" and output.source == dataset and output.translator == translator
    assert (output.n_profiles, output.n_genes) == (25, bundle.n_out)
    with GctxReader(output.file) as reader:
        np.testing.assert_allclose(reader.read(), bundle.predict(landmarks), rtol=1e-5, atol=1e-5)
    meta = load_metadata(output)
    assert list(meta["inst_id"]) == [f"S{i:03d}" for i in range(25)]
    assert list(meta["cell_id"]) == list(load_metadata(dataset)["cell_id"])
    assert "Done: 25 profiles" in job.log


def test_a_job_killed_mid_way_resumes_from_its_last_chunk(data_dir):
    translator, dataset, bundle, landmarks = registered_pair(data_dir, n_samples=40)
    job = ConversionJob.objects.create(dataset=dataset, translator=translator, chunk_size=8, device="cpu", chunks_total=5)

    class WorkerKilled(BaseException):
        pass

    def die_after_two(done, total):
        if done == 2:
            raise WorkerKilled

    # What a killed worker leaves behind: two finished part files, the job running
    # with chunks_done=2 and a heartbeat that stopped more than STALE_AFTER ago.
    with pytest.raises(WorkerKilled):
        convert_file(bundle, dataset.file, job.output_file, chunk_size=8, device="cpu", progress=die_after_two)
    ConversionJob.objects.filter(pk=job.pk).update(
        status="running", chunks_done=2, heartbeat_at=timezone.now() - timedelta(minutes=11), started_at=timezone.now()
    )

    result = run_conversion.delay(job.pk).get()
    job.refresh_from_db()
    assert result["status"] == "done" and result["profiles"] == 40
    assert "3 chunks computed now, 2 reused" in job.log
    with GctxReader(job.output.file) as reader:
        assert list(reader.col_ids) == [f"S{i:03d}" for i in range(40)]
        np.testing.assert_allclose(reader.read(), bundle.predict(landmarks), rtol=1e-5, atol=1e-5)
    assert not parts_dir(job.output_file).exists()


def test_a_job_running_on_a_live_worker_is_not_claimed_twice(data_dir):
    translator, dataset, _, _ = registered_pair(data_dir)
    job = ConversionJob.objects.create(dataset=dataset, translator=translator, status="running", heartbeat_at=timezone.now())
    assert run_conversion.delay(job.pk).get() == {"job": job.pk, "claimed": False, "status": "running"}


def test_missing_landmarks_fail_the_job_with_the_missing_ids_and_no_output(data_dir):
    translator, dataset, bundle, _ = registered_pair(data_dir, drop="1004")
    job = ConversionJob.objects.create(dataset=dataset, translator=translator, chunk_size=10, device="cpu")
    assert run_conversion.delay(job.pk).get()["status"] == "failed"
    job.refresh_from_db()
    assert "missing Entrez ids 1004" in job.error
    assert job.output is None and not job.output_file.exists()
    assert Dataset.objects.filter(kind="rnaseq_like").count() == 0


def test_a_cancelled_queued_job_is_not_run(data_dir):
    translator, dataset, _, _ = registered_pair(data_dir)
    job = ConversionJob.objects.create(dataset=dataset, translator=translator, device="cpu")
    job.request_cancel()
    assert run_conversion.delay(job.pk).get()["claimed"] is False
    job.refresh_from_db()
    assert job.status == "cancelled" and not job.output_file.exists()


def test_cancelling_a_running_job_stops_it_between_chunks_and_keeps_finished_chunks(data_dir):
    from conversion import tasks

    translator, dataset, _, _ = registered_pair(data_dir, n_samples=30)
    job = ConversionJob.objects.create(dataset=dataset, translator=translator, chunk_size=10, device="cpu")
    assert job.claim()

    def cancel_after_first(done, total):
        if done == 1:
            ConversionJob.objects.filter(pk=job.pk).update(cancel_requested=True)

    with pytest.raises(Exception) as excinfo:
        tasks.convert_job(job, progress=cancel_after_first)
    assert type(excinfo.value).__name__ == "JobCancelled"
    assert len(list(parts_dir(job.output_file).glob("chunk_*.npy"))) == 2
