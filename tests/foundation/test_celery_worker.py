"""A real Celery worker process, a real Redis broker: one task through each queue."""

import uuid

import pytest

from l1kweb.celery import app, ping
from tests.celery_broker import private_broker_url, start_worker, stop_worker, using_broker



@pytest.fixture
def worker():
    # A private Redis database (tests.parallel) so that no other test process's tasks reach this worker.
    broker = private_broker_url()
    proc = start_worker("default,signatures,gpu", broker=broker)
    try:
        with using_broker(broker, purge=("default", "signatures", "gpu")):
            yield proc
    finally:
        stop_worker(proc)


@pytest.mark.worker
@pytest.mark.parametrize("queue", ["default", "signatures", "gpu"])
def test_worker_process_executes_a_task_from_each_queue(worker, queue):
    token = uuid.uuid4().hex
    result = ping.apply_async(args=[token], queue=queue)
    try:
        value = result.get(timeout=60)
    except Exception:
        worker.terminate()
        raise AssertionError("worker did not answer; its output:\n" + worker.stdout.read().decode(errors="replace"))
    assert value["token"] == token
    assert value["hostname"]  # executed by a named worker, not in-process
    assert result.status == "SUCCESS"


def test_task_routes_send_each_app_to_its_queue():
    routes = app.conf.task_routes
    assert routes["conversion.tasks.*"] == {"queue": "gpu"}
    assert routes["signatures.tasks.*"] == {"queue": "signatures"}
    assert {q.name for q in app.conf.task_queues} == {"default", "signatures", "gpu"}
