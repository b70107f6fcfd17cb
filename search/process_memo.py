"""Values computed once per release and kept in this process: facets, annotation backgrounds.

A release never changes, so what a request derives from all of its
signatures (counts per cell line, every compound's annotation terms) can be
kept for as long as the process serves it. Keys hold the release's cache stamp
(Release.cache_stamp), so a release rebuilt under the same id is read afresh;
a handful of releases per memo at most, the oldest dropped first.

Process memory rather than the shared cache: at a million signatures a
Redis round-trip plus unpickling such a value costs more than the search
itself, on every request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
_memos: list[ProcessMemo] = []


class ProcessMemo(Generic[T]):
    def __init__(self, size: int = 8):
        self._size = size
        self._lock = threading.Lock()
        self._values: OrderedDict[str, T] = OrderedDict()
        _memos.append(self)

    def get(self, key: str, compute: Callable[[], T]) -> T:
        """The value under `key`, computed by `compute()` on first use (outside the lock: two threads may both compute it)."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = compute()
        with self._lock:
            self._values[key] = value
            while len(self._values) > self._size:
                self._values.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


def clear_all() -> None:
    """Forget every memo's values (tests; a process that must reread its releases)."""
    for memo in _memos:
        memo.clear()
