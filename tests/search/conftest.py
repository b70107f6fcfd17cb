import pytest

from search import process_memo, stores
from tests.search.factories import make_release


@pytest.fixture(autouse=True)
def _private_cache(settings):
    """A per-test in-memory cache: facets and throttle counts never leak between tests (or into Redis)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "search-tests"}}
    from django.core.cache import cache

    cache.clear()
    process_memo.clear_all()
    yield
    stores.clear()


@pytest.fixture
def world(db, data_dir):
    return make_release(data_dir)
