"""Open signature stores, cached per process.

Opening a store reads its gene and signature id lists (hundreds of thousands of
strings for a full release), so each web process opens a release's store once
and keeps it. A complete release's files never change; a store merged again
(only a release that is not active yet) is a new directory swapped in with a
new manifest, and the manifest's modification time is part of the key, so it is
reopened rather than read stale. A store kept open here across such a swap
holds the old, deleted files until it is evicted.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from signatures.store import MANIFEST_FILE, SignatureStore, StoreError, open_store

log = logging.getLogger(__name__)

_MAX_OPEN = 4
_lock = threading.Lock()
_open: OrderedDict[tuple[str, int], SignatureStore] = OrderedDict()


def store_for(release) -> SignatureStore:
    """The open store of `release`; raises StoreError naming the directory when it is missing."""
    path = release.store_dir
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


def unavailable(release, exc: StoreError) -> str:
    """The visitor's sentence for a store that cannot be read; the server's path goes to the log only."""
    log.error("Release %s: signature store unavailable: %s", release.name if release else "-", exc)
    name = f" of release {release.name}" if release else ""
    return f"The exact query cannot be answered right now: the signature store{name} is unavailable. The error has been logged for the administrators."


def clear() -> None:
    with _lock:
        while _open:
            _, store = _open.popitem()
            store.close()
