"""Open signature stores, cached per process.

Opening a store reads its gene and signature id lists (hundreds of thousands of
strings for a full release), so each web process opens a release's store once
and keeps it. A complete release's files never change; the manifest's
modification time is part of the key all the same, so a store rebuilt in place
(only ever by hand) is reopened rather than read stale.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from l1kweb.paths import resolve_data_path
from signatures.store import MANIFEST_FILE, SignatureStore, StoreError, open_store

_MAX_OPEN = 4
_lock = threading.Lock()
_open: OrderedDict[tuple[str, int], SignatureStore] = OrderedDict()


def release_store_path(release) -> Path:
    return resolve_data_path(release.directory)


def store_for(release) -> SignatureStore:
    """The open store of `release`; raises StoreError naming the directory when it is missing."""
    path = release_store_path(release)
    try:
        stamp = (path / MANIFEST_FILE).stat().st_mtime_ns
    except OSError:
        raise StoreError(f"Release {release.name}: its signature store {path} is missing or incomplete ({MANIFEST_FILE} not found).") from None
    key = (str(path), stamp)
    with _lock:
        store = _open.get(key)
        if store is not None:
            _open.move_to_end(key)
            return store
        store = open_store(path)
        _open[key] = store
        while len(_open) > _MAX_OPEN:
            _, old = _open.popitem(last=False)
            old.close()
        return store


def clear() -> None:
    with _lock:
        while _open:
            _, store = _open.popitem()
            store.close()
