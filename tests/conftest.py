import pytest
from django.conf import settings

from l1kweb.celery import app as celery_app


def pytest_configure(config):
    if settings.EMBEDDED:
        raise pytest.UsageError(
            "The test suite runs on PostgreSQL: set DATABASE_URL (bin/test sets postgres://root@127.0.0.1:5432/l1kweb)."
        )


@pytest.fixture(autouse=True)
def _eager_celery_by_default(request):
    """Tasks run in-process unless a test starts a real worker (marker `worker`)."""
    if request.node.get_closest_marker("worker"):
        yield
        return
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


@pytest.fixture(autouse=True)
def _data_dir(tmp_path, tmp_path_factory, settings):
    """Every test gets its own DATA_DIR; nothing is written into the checkout.

    The session's temporary folder (where the shared synthetic worlds live) is
    an import root, as a deployment's download folder would be.
    """
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    settings.IMPORT_ROOTS = [str(tmp_path_factory.getbasetemp())]
    return settings.DATA_DIR


@pytest.fixture
def data_dir(_data_dir):
    return _data_dir


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory):
    """The synthetic world of size `tiny` (conversion.synthetic), built once per test session.

    A dict of file paths (l1000, inst_info, gene_info, ncbi_gene_info, archs4,
    gtex_l1000, gtex_rnaseq, truth) plus landmark_entrez_ids and
    output_entrez_ids. Treat the files as read-only: other tests share them.
    """
    from conversion.synthetic import make_world

    return make_world(tmp_path_factory.mktemp("tiny_world"), size="tiny", seed=0)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The cache is real (Redis under bin/test, one database per test process: tests.parallel); no test sees another's entries."""
    from django.core.cache import cache

    cache.clear()
    yield
