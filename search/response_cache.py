"""Responses cached per release: a release's results never change, so what a request computed is kept.

Keyed by the active release (its id, completion and activation times, so a
release rebuilt or activated again is read afresh), the host (API links are
absolute), the path and the query string with its parameters in a canonical
order (repeated values keep their order, which the page shows). Kept in
Django's cache: Redis in deployment, process memory in the embedded default.

Every cached response carries an `ETag` derived from the same key and
`Cache-Control: public, max-age=RESPONSE_CACHE_MAX_AGE`; a request whose
`If-None-Match` names it gets a 304 before anything is computed. Only
anonymous requests are cached (a signed-in staff member's page shows the
admin link); only complete 200 responses are stored, and downloads only up to
RESPONSE_CACHE_MAX_BYTES. Gene names come from the gene registry, which an
import may change without a new release: entries expire after
RESPONSE_CACHE_TIMEOUT seconds, so such a change shows within that time.
"""

from __future__ import annotations

import hashlib
import json
import threading
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from search.renderers import JSONRenderer
from rest_framework.response import Response

from signatures.models import Release

KEY_VERSION = 2  # raise when what a cached response holds changes shape


def cache_key(request, release: Release, kind: str) -> str:
    """The cache key of this request's response for `release` ("page", "download" or "api")."""
    items = sorted(((k, v) for k, values in request.GET.lists() for v in values), key=lambda kv: kv[0])
    raw = f"v{KEY_VERSION}|{kind}|{release.cache_stamp}|{request.get_host()}|{request.path}|{urlencode(items)}"
    return "search:response:" + hashlib.sha256(raw.encode()).hexdigest()


def _etag(key: str) -> str:
    return f'"{key.rsplit(":", 1)[-1][:32]}"'


def _fresh(request, etag: str) -> bool:
    sent = request.META.get("HTTP_IF_NONE_MATCH", "")
    return any(tag.strip().removeprefix("W/") in (etag, "*") for tag in sent.split(",")) if sent else False


def _label(response, etag: str):
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={settings.RESPONSE_CACHE_MAX_AGE}"
    patch_vary_headers(response, ("Cookie",))
    return response


def _not_modified(etag: str):
    return _label(HttpResponseNotModified(), etag)


_UNSET = object()


class _ActiveReleaseMemo:
    """The active release as this process last loaded it, with the database rows it was loaded from.

    Every request reads the active release's row and its dataset's with one plain SQL query and
    loads them through the ORM again only when they differ from the memo's: a release activated,
    rebuilt or edited is seen by the next request, and the ORM's query building (most of the cost
    of `Release.active()`, about a sixth of an uncached API request) is paid once per change.
    The memo's instance is shared by the requests of the process: they only read it.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._rows: tuple | None = None
        self._release: Release | None = None

    def _sql(self) -> str:
        release, dataset = Release._meta, Release._meta.get_field("dataset").related_model._meta
        return (
            f"SELECT r.*, d.* FROM {release.db_table} r JOIN {dataset.db_table} d ON d.{dataset.pk.column} = r.{release.get_field('dataset').column} "
            f"WHERE r.{release.get_field('is_active').column}"
        )

    def get(self) -> Release | None:
        with connection.cursor() as cursor:
            cursor.execute(self._sql())
            rows = tuple(cursor.fetchall())
        if not rows:
            return None
        with self._lock:
            if rows == self._rows:
                return self._release
        release = Release.active()
        with self._lock:
            self._rows, self._release = rows, release
        return release

    def clear(self) -> None:
        with self._lock:
            self._rows = self._release = None


active_release_memo = _ActiveReleaseMemo()


def active_release(request) -> Release | None:
    """The active release, read once per request (the cache key and the view both need it) and loaded once per change of its rows."""
    http_request = getattr(request, "_request", request)  # a DRF Request wraps Django's
    release = getattr(http_request, "_l1kweb_active_release", _UNSET)
    if release is _UNSET:
        release = active_release_memo.get()
        http_request._l1kweb_active_release = release
    return release


def _entry(request, kind: str) -> tuple[str, str] | None:
    """(cache key, ETag) of a request whose response may be cached; None for any other."""
    if request.method not in ("GET", "HEAD") or request.user.is_authenticated:
        return None
    release = active_release(request)
    if release is None:
        return None
    key = cache_key(request, release, kind)
    return key, _etag(key)


def cached_page(kind: str):
    """Cache a page or download view's rendered 200 responses (the view resolves the gene and the release itself)."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            entry = _entry(request, kind)
            if entry is None:
                return view(request, *args, **kwargs)
            key, etag = entry
            if _fresh(request, etag):
                return _not_modified(etag)
            stored = cache.get(key)
            if stored is not None:
                content, headers = stored
                response = HttpResponse(content)
                for name, value in headers:
                    response[name] = value
                return _label(response, etag)
            response = view(request, *args, **kwargs)
            if response.status_code == 200 and not response.streaming and len(response.content) <= settings.RESPONSE_CACHE_MAX_BYTES:
                headers = [(name, response[name]) for name in ("Content-Type", "Content-Disposition") if response.has_header(name)]
                cache.set(key, (response.content, headers), timeout=settings.RESPONSE_CACHE_TIMEOUT)
                _label(response, etag)
            return response

        return wrapper

    return decorate


def cached_api(get):
    """Cache an APIView `get`'s 200 answers as the JSON they render to.

    A JSON request is answered from the stored bytes as they are; any other renderer (the browsable
    API) gets the stored JSON's data, so content negotiation still applies. Storing the rendered bytes
    rather than the data saves pickling an answer's nested dicts on a miss, and on a hit unpickling
    and rendering them again.
    """

    @wraps(get)
    def wrapper(self, request, *args, **kwargs):
        entry = _entry(request, "api")
        if entry is None:
            return get(self, request, *args, **kwargs)
        key, etag = entry
        if _fresh(request, etag):
            return _not_modified(etag)
        stored = cache.get(key)
        if stored is not None:
            content_type, content = stored
            if request.accepted_renderer.format == "json":
                return _label(HttpResponse(content, content_type=content_type), etag)
            return _label(Response(json.loads(content)), etag)
        response = get(self, request, *args, **kwargs)
        if response.status_code == 200:
            if request.accepted_renderer.format == "json":
                response.add_post_render_callback(lambda rendered: _store(key, rendered["Content-Type"], rendered.content))
            else:
                _store(key, "application/json", JSONRenderer().render(response.data))
            _label(response, etag)
        return response

    return wrapper


def _store(key: str, content_type: str, content: bytes) -> None:
    cache.set(key, (content_type, content), timeout=settings.RESPONSE_CACHE_TIMEOUT)
