"""What the test processes of a parallel run (pytest-xdist workers) must not share.

Redis databases. REDIS_URL (bin/test: redis://127.0.0.1:6379/0) names the
first of the run's databases. Of n test processes (n = 1 when serial) the one
with index i (gwN: N) caches in database base + i, which the conftest clears
before every test. The tests that start real Celery workers (marker `worker`)
send their tasks through database base + n (tests.celery_broker), which no
cache uses; they are one xdist group, so one process runs them, one at a time.

CPU cores. Each worker's torch and BLAS threads get an equal share of the
cores: with one thread per core in every worker, the workers' threads
outnumber the cores and the training tests wait on each other.

A plugin (`-p tests.parallel` in pyproject's addopts) because the settings read
REDIS_URL when pytest-django imports them, before any conftest is loaded, and
OMP_NUM_THREADS counts only when set before torch is imported.
"""

import os
from urllib.parse import urlsplit, urlunsplit

import pytest

# Redis's default `databases`; a database past it fails on SELECT.
REDIS_DATABASES = 16
WORKER_GROUP = "celery-worker"


def database(url: str) -> int:
    """The database number in a redis:// URL (0 when the path names none)."""
    path = urlsplit(url).path.strip("/")
    return int(path) if path else 0


def with_database(url: str, db: int) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))


def this_process() -> tuple[int, int]:
    """(index, number of test processes): (0, 1) when serial."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # "gw0", "gw1", ... in xdist workers only
    if worker is None:
        return 0, 1
    return int(worker.removeprefix("gw")), int(os.environ["PYTEST_XDIST_WORKER_COUNT"])


def cache_url(url: str, *, index: int) -> str:
    """REDIS_URL for test process `index`: database base + index."""
    return with_database(url, database(url) + index)


def check_databases(url: str, *, processes: int) -> None:
    """Refuse a run whose databases, base to base + processes (the broker's), run past Redis's last."""
    base = database(url)
    last = base + processes
    if last >= REDIS_DATABASES:
        raise ValueError(
            f"{processes} test processes need Redis databases {base} to {last} (from REDIS_URL's {base}), "
            f"but Redis has {REDIS_DATABASES} (0 to {REDIS_DATABASES - 1}): use a lower database in REDIS_URL or fewer workers (-n)."
        )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return  # serial, or the xdist controller, which runs no test
    index, processes = this_process()
    # Every subprocess a test starts (Celery workers, fresh interpreters) inherits both.
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // processes)))
    if os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = cache_url(os.environ["REDIS_URL"], index=index)


def pytest_configure(config):
    if hasattr(config, "workerinput"):
        return  # checked once, by the controller
    # One broker database for all `worker` tests holds only while one process runs them.
    dist = config.getoption("dist", "no")
    if dist not in ("no", "loadgroup"):
        raise pytest.UsageError(
            f"--dist {dist} would run the `worker` tests in several processes at once on one "
            "Celery broker database (tests.parallel): use --dist loadgroup (pyproject's default) or -n 0."
        )
    if os.environ.get("REDIS_URL"):
        try:
            # xdist has turned -n (and --maxprocesses) into one `popen` entry per worker.
            check_databases(os.environ["REDIS_URL"], processes=len(config.getoption("tx", None) or ()) or 1)
        except ValueError as error:
            raise pytest.UsageError(str(error)) from None


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("worker"):
            item.add_marker(pytest.mark.xdist_group(WORKER_GROUP))
