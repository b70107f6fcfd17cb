"""Point the Celery app at a private Redis database for a test that starts real workers."""

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from kombu import pools as kombu_pools

from l1kweb.celery import app
from tests.parallel import database, this_process, with_database


def private_broker_url() -> str:
    """Database base + n, after the n test processes' cache databases (tests.parallel)."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    index, processes = this_process()
    return with_database(url, database(url) - index + processes)


def _drop_cached_connections() -> None:
    """The app caches its broker pool, producer pool and result backend on first use,
    with the URLs of that moment, and kombu keeps producer pools per connection in a
    process-wide registry; after changing the URLs all of them must be rebuilt."""
    kombu_pools.reset()  # closes and forgets every registered connection and producer pool
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    app._backend_cache = None
    app._local.backend = None


@contextlib.contextmanager
def using_broker(url: str, *, purge: tuple[str, ...] = ()):
    """Send tasks to `url` (broker and result backend) instead of eager execution; restore afterwards."""
    previous = (app.conf.broker_url, app.conf.result_backend, app.conf.task_always_eager)
    app.conf.broker_url, app.conf.result_backend, app.conf.task_always_eager = url, url, False
    _drop_cached_connections()
    try:
        # Messages left by an earlier run must not reach this run's workers.
        for queue in purge:
            with app.connection_for_write() as conn:
                conn.default_channel.queue_purge(queue)
        yield
    finally:
        for queue in purge:
            with app.connection_for_write() as conn:
                conn.default_channel.queue_purge(queue)
        app.conf.broker_url, app.conf.result_backend, app.conf.task_always_eager = previous
        _drop_cached_connections()


ROOT = Path(__file__).resolve().parents[1]


def start_worker(queues: str, *, broker: str, data_dir=None) -> subprocess.Popen:
    """A real Celery worker process (solo pool) on `queues` ("gpu", "default,signatures") with `broker`.

    With `data_dir` it also uses that DATA_DIR and this test's database, as a
    deployment's worker shares them with the web process. Its output is piped
    (read it to explain a failure); it runs in a process group of its own.
    """
    env = dict(os.environ, CELERY_BROKER_URL=broker, CELERY_RESULT_BACKEND=broker)
    if data_dir is not None:
        from django.db import connection

        db = connection.settings_dict
        env.update(DATA_DIR=str(data_dir), DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}")
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "l1kweb", "worker", "-Q", queues, "--pool", "solo",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def stop_worker(proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
    """Stop a worker from start_worker (SIGKILL after 20 s); nothing when it has already exited."""
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
