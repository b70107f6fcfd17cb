"""A release's download page and its files, served from disk without loading them, resumable (HTTP Range).

Only the files the release's files.json lists (signatures.release_files) are
served, by the name listed there, and only while each has the size and
modification time recorded with its SHA-256: a file replaced since would not
match its published checksum, and is refused with a sentence. One byte range
per request (`Range: bytes=a-b`, `a-`, `-n`) answers 206 with Content-Range;
a range outside the file answers 416.
"""

from __future__ import annotations

import re

from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from search.throttling import DownloadThrottle, PageThrottle, throttled
from signatures.models import Release, ReleaseStatus
from signatures.release_files import release_files

STREAM_CHUNK = 2**20
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _release(name: str) -> Release:
    release = Release.objects.filter(name=name, status=ReleaseStatus.COMPLETE).select_related("dataset").first()
    if release is None:
        raise Http404(f"No complete release named {name[:100]!r}.")
    return release


@throttled(PageThrottle)
def release_page(request, name):
    release = _release(name)
    files = release_files(release)
    return render(request, "search/release.html", {"release": release, "files": files, "changed": [f.name for f in files or [] if not f.unchanged()]})


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive for one `bytes=` range; None when it cannot be satisfied."""
    match = _RANGE.match(header.strip())
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # the last n bytes
        n = int(last)
        return (max(0, size - n), size - 1) if n > 0 and size > 0 else None
    first = int(first)
    last = size - 1 if last == "" else min(int(last), size - 1)
    return (first, last) if first <= last and first < size else None


def _stream(path, first: int, length: int):
    with open(path, "rb") as fh:
        fh.seek(first)
        while length > 0:
            piece = fh.read(min(STREAM_CHUNK, length))
            if not piece:
                return
            length -= len(piece)
            yield piece


@throttled(DownloadThrottle, plain_text=True)
def release_file(request, name, filename):
    release = _release(name)
    listed = {f.name: f for f in release_files(release) or []}
    entry = listed.get(filename)
    if entry is None:
        raise Http404(f"Release {release.name} publishes no file {filename[:100]!r}.")
    if not entry.unchanged():
        return HttpResponse(
            f"{filename} of release {release.name} changed since its checksum was published; an admin must list it again (manage.py release_files {release.name}).\n",
            status=409, content_type="text/plain; charset=utf-8",
        )
    disposition = f'attachment; filename="{entry.name}"'
    header = request.headers.get("Range")
    if header:
        span = _byte_range(header, entry.size)
        if span is None:
            response = HttpResponse(f"Range {header[:100]!r} is outside {entry.name} ({entry.size} bytes) or not one 'bytes=first-last' range.\n",
                                    status=416, content_type="text/plain; charset=utf-8")
            response["Content-Range"] = f"bytes */{entry.size}"
            return response
        first, last = span
        response = StreamingHttpResponse(_stream(entry.path, first, last - first + 1), status=206, content_type="application/octet-stream")
        response["Content-Range"] = f"bytes {first}-{last}/{entry.size}"
        response["Content-Length"] = str(last - first + 1)
    else:
        response = FileResponse(open(entry.path, "rb"), content_type="application/octet-stream")
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = disposition
    response["ETag"] = f'"{entry.sha256}"'
    return response
