"""Writing a file so that readers see the old version or the new one, never half of it.

Every file the project writes for other processes to read (GCTX matrices, stores,
bundles, checkpoints, manifests, reports, uploads) goes through `atomic_path`:
the content is written to a temporary name in the target's own directory (so the
final step is a rename within one file system), and `os.replace` puts it in
place only when the writing finished without an exception. On any exception the
temporary file is removed and an existing target is left as it was.

The temporary name carries the process id and a random token, so two processes
or threads writing the same target never write into one temporary file; the
last `os.replace` wins, with a complete file either way.

This module imports only the standard library, so the format readers, the
translator numerics and the signature stores use it without Django.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


class atomic_path:
    """A temporary path next to `target`, renamed onto it on success, removed on failure.

    As a context manager it yields the temporary path::

        with atomic_path(out / "metrics.json") as tmp:
            tmp.write_text(json.dumps(metrics))

    Writers with an open/close life of their own (GctxWriter, StoreWriter) keep
    the object and call `commit()` or `discard()` themselves.

    `fsync=True` flushes the file (and the directory entry after the rename) to
    disk before returning, for files that must survive a power cut, not only a
    killed process.
    """

    def __init__(self, target: str | os.PathLike, *, fsync: bool = False):
        self.target = Path(target)
        self.tmp = self.target.with_name(f".{self.target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        self.fsync = fsync
        self._done = False

    def __enter__(self) -> Path:
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()

    def commit(self) -> Path:
        """Move the finished temporary file onto the target; on failure remove it and raise."""
        if self._done:
            raise RuntimeError(f"{self.target}: this atomic write was already committed or discarded.")
        try:
            if not self.tmp.is_file():
                raise FileNotFoundError(f"{self.target}: expected the temporary file {self.tmp} to be written, found none.")
            if self.fsync:
                _fsync(self.tmp, os.O_RDONLY)
            os.replace(self.tmp, self.target)
            self._done = True
            if self.fsync:
                _fsync(self.target.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except BaseException:
            self.discard()
            raise
        return self.target

    def commit_new(self, candidates) -> Path:
        """Give the finished temporary file the first name among `candidates` that no file has yet.

        Never replaces a file: os.link fails on an existing name, so two
        writers at once cannot take the same one. Returns the name taken.
        """
        if self._done:
            raise RuntimeError(f"{self.target}: this atomic write was already committed or discarded.")
        try:
            for candidate in candidates:
                try:
                    os.link(self.tmp, candidate)
                except FileExistsError:
                    continue
                self.target = Path(candidate)
                return self.target
            raise FileExistsError(f"{self.target}: every candidate name is taken.")
        finally:
            self.discard()

    def discard(self) -> None:
        """Remove the temporary file (if any); the target is untouched."""
        self._done = True
        self.tmp.unlink(missing_ok=True)


def _fsync(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
