"""Where the application may read and write files: DATA_DIR, plus the import roots.

Stored paths are relative to DATA_DIR where they can be, so the data
directory can move. Every path that comes from a person (an admin form, a
command, a job's fields) goes through `allowed_path` before anything opens
it: it must lie under DATA_DIR or, for files registered in place, under one
of IMPORT_ROOTS. The refusal is the same sentence whether or not the path
exists, so the forms reveal nothing about the rest of the file system.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

# Names and versions that become file names: letters, digits, '.', '_' and '-',
# starting with a letter or digit (so never '..' or a hidden file).
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}"


class PathNotAllowed(ValueError):
    pass


def resolve_data_path(path) -> Path:
    """A stored path as a file-system path: relative ones are under DATA_DIR."""
    p = Path(path)
    return p if p.is_absolute() else Path(settings.DATA_DIR) / p


def stored_data_path(path) -> str:
    """Paths under DATA_DIR are stored relative to it, so the data directory can move."""
    resolved = resolve_data_path(str(path)).resolve()
    try:
        return str(resolved.relative_to(Path(settings.DATA_DIR).resolve()))
    except ValueError:
        return str(resolved)


def _roots(*, write: bool) -> list[Path]:
    roots = [Path(settings.DATA_DIR)]
    if not write:
        roots += [Path(r) for r in settings.IMPORT_ROOTS]
    return [r.resolve() for r in roots]


def allowed_path(path, *, write: bool = False) -> Path:
    """`path` resolved (links and '..' followed), refused unless under DATA_DIR
    (or, to read, an import root)."""
    resolved = resolve_data_path(path).resolve()
    if any(resolved.is_relative_to(root) for root in _roots(write=write)):
        return resolved
    where = "the data directory" if write else "the data directory or an import root (IMPORT_ROOTS)"
    raise PathNotAllowed(f"{path} is not a file the application may {'write' if write else 'read'}: paths must lie under {where}.")


def check_name(value: str, *, what: str) -> str:
    """A name or version that becomes part of a file name; refused unless NAME_PATTERN."""
    if not re.fullmatch(NAME_PATTERN, value or ""):
        raise PathNotAllowed(
            f"{what} {value!r} must be 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit."
        )
    return value
