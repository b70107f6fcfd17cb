"""Parallel test processes (pytest-xdist workers) each cache in a Redis database of their own (tests.parallel)."""

import os

import pytest
from django.conf import settings

from tests.celery_broker import private_broker_url
from tests.parallel import cache_url, check_databases, database, this_process


def test_process_i_of_n_caches_in_database_base_plus_i():
    base = "redis://127.0.0.1:6379/8"
    assert cache_url(base, index=0) == base
    assert [cache_url(base, index=i) for i in range(3)] == [
        "redis://127.0.0.1:6379/8", "redis://127.0.0.1:6379/9", "redis://127.0.0.1:6379/10",
    ]
    assert cache_url("redis://127.0.0.1:6379", index=1) == "redis://127.0.0.1:6379/1"


def test_databases_past_the_last_redis_database_are_refused_naming_the_range():
    check_databases("redis://127.0.0.1:6379/11", processes=4)  # 11 to 15
    with pytest.raises(ValueError, match=r"4 test processes need Redis databases 12 to 16 .* but Redis has 16"):
        check_databases("redis://127.0.0.1:6379/12", processes=4)


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (bin/test sets it)")
def test_this_process_caches_in_its_own_database_and_the_broker_follows_all_caches(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("tests.parallel")  # loaded by pyproject's addopts
    index, processes = this_process()
    assert settings.CACHES["default"]["LOCATION"] == os.environ["REDIS_URL"]
    base = database(os.environ["REDIS_URL"]) - index
    assert database(private_broker_url()) == base + processes  # no process's cache

