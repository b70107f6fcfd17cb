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

A set of files that readers must see together (a signature store: three
matrices and the manifest that declares them complete) goes through
`atomic_directory`, the same rule for a directory: written into a fresh sibling
directory and swapped in for the target only when complete.

This module imports only the standard library, so the format readers, the
translator numerics and the signature stores use it without Django.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path


class _AtomicWrite:
    """What atomic_path and atomic_directory share: commit on success, discard on failure, each once."""

    target: Path
    tmp: Path
    _done: bool

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()

    def _check_written(self, what: str, written) -> None:
        if self._done:
            raise RuntimeError(f"{self.target}: this atomic write was already committed or discarded.")
        if not written(self.tmp):
            raise FileNotFoundError(f"{self.target}: expected the temporary {what} {self.tmp} to be written, found none.")

    def commit(self) -> Path:
        raise NotImplementedError

    def discard(self) -> None:
        raise NotImplementedError


class atomic_path(_AtomicWrite):
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

    def commit(self) -> Path:
        """Move the finished temporary file onto the target; on failure remove it and raise."""
        try:
            self._check_written("file", Path.is_file)
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
        try:
            self._check_written("file", Path.is_file)
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


class atomic_directory(_AtomicWrite):
    """A fresh directory next to `target`, swapped in for it on success, removed on failure.

    As a context manager it creates and yields the temporary directory::

        with atomic_directory(release_dir, fsync=True) as tmp:
            (tmp / "store.json").write_text(...)

    The temporary directory is ``.<name>.tmp-<pid>-<token>`` beside the target
    (one file system, so the swap is a rename). On commit, an existing target
    is first renamed aside to ``.<name>.old-<pid>-<token>``, the new directory
    is renamed onto the target, and the old one is deleted: a reader that has
    files of the old directory open keeps reading them (on Linux a deleted
    file lives until its last descriptor is closed). A reader that opens the
    target in the instant between the two renames finds it missing, never
    half-written. On any exception the temporary directory is deleted and the
    target is left as it was.

    A writer killed outright (SIGKILL, power cut) leaves its temporary or
    set-aside directory behind; `remove_leftovers` deletes them, and is called
    by whoever holds the claim on the step that writes the target.

    `fsync=True` flushes every file and directory written to disk before the
    swap, and the parent directory after it.
    """

    def __init__(self, target: str | os.PathLike, *, fsync: bool = False):
        self.target = Path(target)
        tag = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.tmp = self.target.with_name(f".{self.target.name}.tmp-{tag}")
        self._aside = self.target.with_name(f".{self.target.name}.old-{tag}")
        self.fsync = fsync
        self._done = False

    def __enter__(self) -> Path:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir()
        return self.tmp

    def commit(self) -> Path:
        """Swap the finished temporary directory in for the target; on failure remove it and raise."""
        try:
            self._check_written("directory", Path.is_dir)
            if self.fsync:
                _fsync_tree(self.tmp)
            replaced = self.target.exists()
            if replaced:
                os.rename(self.target, self._aside)
            os.rename(self.tmp, self.target)
            self._done = True
        except BaseException:
            self.discard()
            raise
        if self.fsync:
            _fsync(self.target.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        if replaced:
            shutil.rmtree(self._aside)
        return self.target

    def discard(self) -> None:
        """Remove the temporary directory (if any); the target is untouched."""
        self._done = True
        shutil.rmtree(self.tmp, ignore_errors=True)


def remove_leftovers(target: str | os.PathLike) -> list[Path]:
    """Delete the temporary and set-aside directories that killed writers of `target` left.

    Only for a caller that knows no other writer of `target` is alive (it holds
    the claim on the step that writes it): a live writer's temporary directory
    would be deleted under it. Returns the directories removed.
    """
    target = Path(target)
    if not target.parent.is_dir():
        return []
    found = sorted(target.parent.glob(f".{target.name}.tmp-*")) + sorted(target.parent.glob(f".{target.name}.old-*"))
    for path in found:
        shutil.rmtree(path)
    return found


def _fsync_tree(root: Path) -> None:
    """fsync every file and directory under `root`, children before their directory."""
    for dirpath, _, filenames in os.walk(root, topdown=False):
        for name in filenames:
            _fsync(Path(dirpath) / name, os.O_RDONLY)
        _fsync(Path(dirpath), os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))


def _fsync(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
