"""Point the Celery app at a private Redis database for a test that starts real workers."""

import contextlib
import os

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
