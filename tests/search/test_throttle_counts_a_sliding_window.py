"""The rate limit counts two fixed windows, the previous one weighted by its share of the last minute, in Redis and in any other cache."""

import math
import os
import uuid

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from rest_framework.throttling import AnonRateThrottle

from search.throttling import ApiThrottle, WindowRateThrottle

START = 60.0 * 29_000_000  # the start of a minute


@pytest.fixture(params=["locmem", "redis"])
def backend(request, settings):
    if request.param == "redis":
        if not os.environ.get("REDIS_URL"):
            pytest.skip("REDIS_URL is not set")
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["REDIS_URL"]}}
    return request.param


@pytest.fixture
def clock(monkeypatch):
    now = [START]
    monkeypatch.setattr(WindowRateThrottle, "timer", lambda self: now[0])
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "4/minute"})
    return now


def _ask(address: str) -> ApiThrottle:
    request = RequestFactory().get("/api/cell-lines/", REMOTE_ADDR=address)
    request.user = AnonymousUser()
    throttle = ApiThrottle()
    throttle.allowed = throttle.allow_request(request, None)
    return throttle


def test_the_rate_is_kept_within_a_window_and_refusals_are_not_counted(backend, clock):
    address = f"10.{uuid.uuid4().int % 250}.0.1"
    assert [_ask(address).allowed for _ in range(6)] == [True] * 4 + [False] * 2
    clock[0] = START + 59.0
    assert not _ask(address).allowed
    assert _ask("10.255.0.1" if address != "10.255.0.1" else "10.254.0.1").allowed  # another client has its own count


def test_the_previous_window_counts_by_the_share_still_within_the_last_minute(backend, clock):
    address = f"10.{uuid.uuid4().int % 250}.1.1"
    assert all(_ask(address).allowed for _ in range(4))
    clock[0] = START + 90.0  # half into the next minute: the 4 count as 2
    assert [_ask(address).allowed for _ in range(3)] == [True, True, False]
    clock[0] = START + 120.0  # the next: the 2 of the previous minute count whole, the 4 before it no longer
    assert [_ask(address).allowed for _ in range(3)] == [True, True, False]


@pytest.mark.parametrize("offset", [0.0, 20.0, 45.0])
def test_wait_names_the_first_moment_a_request_is_allowed_again(backend, clock, offset):
    address = f"10.{uuid.uuid4().int % 250}.2.1"
    clock[0] = START + offset
    while _ask(address).allowed:
        pass
    wait = _ask(address).wait()
    assert wait > 0
    clock[0] += wait - 0.5
    assert not _ask(address).allowed
    clock[0] += 1.0
    assert _ask(address).allowed
    assert math.isfinite(wait)
