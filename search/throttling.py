"""Rate limits for the HTML pages and the downloads, as the API has (DRF's AnonRateThrottle).

Anonymous clients are limited per address (the real client behind NUM_PROXIES
proxies, as for the API) with their own rates: `PAGE_ANON_RATE` for the search
pages, `DOWNLOAD_ANON_RATE` for the table downloads, which cost the most.
Signed-in users are not limited. A limited request gets a 429 that says when
to come back, with `Retry-After`.
"""

from __future__ import annotations

import math
from functools import wraps

from django.http import HttpResponse
from django.shortcuts import render
from rest_framework.throttling import AnonRateThrottle


class PageThrottle(AnonRateThrottle):
    scope = "pages"


class DownloadThrottle(AnonRateThrottle):
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
