"""Rate limits for anonymous clients: the API, the HTML pages and the downloads, each with its own rate.

Anonymous clients are limited per address (the real client behind NUM_PROXIES
proxies): `API_ANON_RATE` for the API, `PAGE_ANON_RATE` for the search pages,
`DOWNLOAD_ANON_RATE` for the table downloads, which cost the most. Signed-in
users are not limited. A limited request gets a 429 that says when to come
back, with `Retry-After`.

The count is a sliding window of two fixed windows: a client's requests in
the current window plus those of the previous window weighted by the share of
it that still lies within the last `duration` seconds. That is DRF's
sliding-log rule to within one window's rounding, but each request costs one
counter increment instead of reading and writing the client's whole log
(600 timestamps at 600/minute): with Redis, one round trip to a script that
checks and counts atomically; with any other cache (the embedded default),
the cache's own get and set under a process lock. Refused requests are not
counted, as in DRF.
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache, wraps

import redis
from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import render
from rest_framework.throttling import AnonRateThrottle

# KEYS: the current and the previous window's counters; ARGV: the rate, the weight of
# the previous window, the counters' lifetime in seconds. Returns {allowed, current, previous}.
_CHECK_AND_COUNT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
if previous * tonumber(ARGV[2]) + current >= tonumber(ARGV[1]) then
  return {0, current, previous}
end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {1, current + 1, previous}
"""

_local_lock = threading.Lock()


@lru_cache(maxsize=4)
def _redis_script(location: str):
    return redis.Redis.from_url(location).register_script(_CHECK_AND_COUNT)


def _redis_location() -> str | None:
    """The Redis URL of the default cache, or None when that cache is not Redis."""
    config = settings.CACHES["default"]
    if config["BACKEND"] != "django.core.cache.backends.redis.RedisCache":
        return None
    location = config["LOCATION"]
    return location[0] if isinstance(location, (list, tuple)) else location


class WindowRateThrottle(AnonRateThrottle):
    """DRF's AnonRateThrottle (its rates, scopes and client address) counted in two windows (see the module)."""

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.now = self.timer()
        window, self.elapsed = divmod(self.now, self.duration)
        self.elapsed /= self.duration
        keys = (f"{key}:{int(window)}", f"{key}:{int(window) - 1}")
        allowed, self.current, self.previous = self._check_and_count(keys, 1.0 - self.elapsed)
        return bool(allowed)

    def _check_and_count(self, keys, weight: float) -> tuple[int, int, int]:
        lifetime = 2 * self.duration + 1
        location = _redis_location()
        if location is not None:
            allowed, current, previous = _redis_script(location)(keys=list(keys), args=[self.num_requests, repr(weight), lifetime])
            return int(allowed), int(current), int(previous)
        with _local_lock:
            counts = cache.get_many(keys)
            current, previous = counts.get(keys[0], 0), counts.get(keys[1], 0)
            if previous * weight + current >= self.num_requests:
                return 0, current, previous
            cache.set(keys[0], current + 1, timeout=lifetime)
            return 1, current + 1, previous

    def wait(self):
        """Seconds until the weighted count falls below the rate, if the client sends nothing meanwhile."""
        limit, current, previous = self.num_requests, self.current, self.previous
        if current < limit and previous > 0:
            # Within this window: previous * (1 - t) + current < limit once t > 1 - (limit - current) / previous.
            fraction = max(0.0, 1.0 - (limit - current) / previous - self.elapsed)
        else:
            # In the next window this window's count is the previous one: current * (1 - t) < limit.
            fraction = 1.0 - self.elapsed + max(0.0, 1.0 - limit / current) if current else 0.0
        return fraction * self.duration


class ApiThrottle(WindowRateThrottle):
    scope = "anon"


class PageThrottle(WindowRateThrottle):
    scope = "pages"


class DownloadThrottle(WindowRateThrottle):
    scope = "downloads"


def throttled(throttle_class, *, plain_text: bool = False):
    """Refuse a view's requests beyond `throttle_class`'s rate with a 429 page (or a line of text)."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            throttle = throttle_class()
            if throttle.allow_request(request, None):
                return view(request, *args, **kwargs)
            wait = max(1, math.ceil(throttle.wait() or 1))
            message = f"Too many requests from your address: at most {throttle.rate}. Try again in {wait} s."
            if plain_text:
                response = HttpResponse(message + "\n", status=429, content_type="text/plain; charset=utf-8")
            else:
                response = render(request, "search/throttled.html", {"message": message}, status=429)
            response["Retry-After"] = str(wait)
            return response

        return wrapper

    return decorate
