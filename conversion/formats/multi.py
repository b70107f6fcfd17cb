"""A dataset made of several Level 3 files, opened as one matrix through a small JSON manifest.

The LINCS 2020 ("beta") release splits Level 3 by perturbation type: the
controls of every plate in level3_beta_ctl_n188708x12328.gctx, the compound
treatments in level3_beta_trt_cp_n1805898x12328.gctx, the CRISPR ones in
level3_beta_trt_xpr_*.gctx, ... A batch's treatments and its vehicle controls
then live in different files. A manifest names the member files; `MultiReader`
presents their columns concatenated in manifest order, with the interface of
GctxReader (shape, row_ids, col_ids, row_meta, col_meta, read, iter_chunks),
so validation, registration, conversion and signatures read it unchanged.

Manifest (`<name>.l1kset.json`; the sizes and times are made up)::

    {
     "format": "l1kweb.l1kset",
     "version": 1,
     "n_rows": 12328,
     "n_cols": 1994606,
     "members": [
      {"path": "/downloads/level3_beta_ctl_n188708x12328.gctx", "size": 9305784080,
       "mtime_ns": 1600000000000000000, "n_cols": 188708},
      {"path": "level3_beta_trt_cp_n1805898x12328.gctx", ...}
     ]
    }

A relative member path is relative to the manifest's directory. Opening
checks, each failure one sentence naming the file:
- every member still has the size and modification time recorded (a file
  replaced under a registered dataset would silently change its columns);
- every member has the same row ids in the same order (genes are addressed by
  position everywhere downstream);
- no column id appears in two members.
Row metadata is the first member's. Column metadata is the members' own,
concatenated (a field one member lacks is missing for its columns).

Memory: `read(cols=...)` reads from each member only the columns asked of it;
`iter_chunks` streams member by member, a chunk spanning two members being
read as two pieces.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from conversion.formats._common import as_positions
from conversion.formats.errors import FormatError

FORMAT = "l1kweb.l1kset"
VERSION = 1
SUFFIX = ".l1kset.json"


def manifest_for(member_paths, *, manifest_path, relative_to=None) -> dict:
    """The manifest of these member files (in this order), as `manifest_path` would hold it.

    Each member is stat-ed before it is opened, so a file that changes while
    the caller goes on checking it is refused when the manifest is opened.
    Members under `relative_to` (the data directory) are recorded relative to
    the manifest's directory, so that the two can move together; others by
    their absolute path. The members are checked as MultiReader checks them
    (same rows, no column id twice), so a manifest that could not be opened
    is never returned. Nothing is written.
    """
    from conversion.formats import open_matrix

    manifest_path = Path(manifest_path)
    members = []
    n_rows = None
    for member in member_paths:
        member = Path(member).resolve()
        stat = _stat(member, manifest_path=manifest_path)
        with open_matrix(member) as reader:
            if isinstance(reader, MultiReader):
                raise FormatError(f"Dataset manifest {manifest_path}: member {member} is itself a manifest; list its files instead.", path=member)
            n_cols, n = reader.shape
        n_rows = n if n_rows is None else n_rows
        members.append({"path": _recorded_path(member, manifest_path, relative_to), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "n_cols": int(n_cols)})
    if not members:
        raise FormatError(f"Dataset manifest {manifest_path}: expected at least one member file, found none.", path=manifest_path)
    manifest = {"format": FORMAT, "version": VERSION, "n_rows": int(n_rows), "n_cols": sum(m["n_cols"] for m in members), "members": members}
    MultiReader(manifest, path=manifest_path).close()
    return manifest


def manifest_text(manifest: dict) -> str:
    return json.dumps(manifest, indent=1) + "\n"


def read_manifest(path) -> dict:
    """The manifest at `path`, its format and fields checked."""
    path = Path(path)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FormatError(f"Dataset manifest {path} does not exist.", path=path) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormatError(f"Dataset manifest {path} is not valid JSON ({exc}).", path=path) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise FormatError(f"{path}: expected a dataset manifest with format {FORMAT!r}, found {found!r}.", path=path)
    if manifest.get("version") != VERSION:
        raise FormatError(f"Dataset manifest {path}: expected version {VERSION}, found {manifest.get('version')!r}.", path=path)
    members = manifest.get("members")
    if not isinstance(members, list) or not members:
        raise FormatError(f"Dataset manifest {path}: expected a non-empty list of members, found {members!r}.", path=path)
    for i, m in enumerate(members):
        if not isinstance(m, dict) or not {"path", "size", "mtime_ns", "n_cols"} <= set(m):
            raise FormatError(f"Dataset manifest {path}: expected member {i} to have path, size, mtime_ns and n_cols, found {m!r}.", path=path)
    return manifest


def open_manifest(path) -> "MultiReader":
    return MultiReader(read_manifest(path), path=path)


def is_manifest(path) -> bool:
    """Whether the file at `path` is JSON (what open_matrix opens as a manifest), by its first bytes."""
    try:
        with open(path, "rb") as fh:
            return fh.read(64).lstrip().startswith(b"{")
    except OSError:
        return False


def member_paths(manifest: dict, *, path) -> list[Path]:
    """The members' paths as MultiReader opens them (relative ones under the manifest's directory)."""
    return [MultiReader.resolve_member(Path(path), entry) for entry in manifest["members"]]


class MultiReader:
    """The member files of a manifest as one (samples, genes) matrix; see the module docstring.

    `path` is where the manifest is (or will be) stored: relative member
    paths are resolved against its directory and it names the dataset in
    messages. `members` are the open member readers, `offsets` their first
    column in the concatenation (len(members) + 1 entries).
    """

    def __init__(self, manifest: dict, *, path):
        from conversion.formats import open_matrix

        self.path = Path(path)
        self.manifest = manifest
        self.members = []
        try:
            for entry in manifest["members"]:
                member = self._member_path(entry)
                self._check_unchanged(member, entry)
                reader = open_matrix(member)
                self.members.append(reader)
                if isinstance(reader, MultiReader):
                    raise FormatError(f"Dataset manifest {self.path}: member {member} is itself a manifest; list its files instead.", path=member)
                if reader.shape[0] != entry["n_cols"]:
                    raise FormatError(
                        f"Dataset manifest {self.path}: expected member {member} to hold {entry['n_cols']} columns, found {reader.shape[0]}.",
                        path=member,
                    )
            self._check_rows()
            self.col_ids = np.concatenate([m.col_ids for m in self.members]).astype(str)
            self.offsets = np.cumsum([0] + [m.shape[0] for m in self.members])
            self._check_unique_cols()
        except BaseException:
            self.close()
            raise
        self.row_ids = self.members[0].row_ids
        self._col_meta = None

    # --- opening checks ---
    def _member_path(self, entry: dict) -> Path:
        return self.resolve_member(self.path, entry)

    @staticmethod
    def resolve_member(manifest_path: Path, entry: dict) -> Path:
        member = Path(entry["path"])
        # Lexically: the manifest's folder may not exist yet while a dataset is registered, and
        # "<missing folder>/../member" does not resolve on disk.
        return member if member.is_absolute() else Path(os.path.normpath(Path(manifest_path).parent.resolve() / member))

    def _check_unchanged(self, member: Path, entry: dict) -> None:
        stat = _stat(member, manifest_path=self.path)
        if (stat.st_size, stat.st_mtime_ns) != (entry["size"], entry["mtime_ns"]):
            raise FormatError(
                f"Dataset manifest {self.path}: member {member} changed since the manifest was written "
                f"(expected {entry['size']} bytes modified {_when(entry['mtime_ns'])}, found {stat.st_size} bytes modified {_when(stat.st_mtime_ns)}); "
                "import the dataset again to use the new file.",
                path=member,
            )

    def _check_rows(self) -> None:
        first = self.members[0]
        for other in self.members[1:]:
            if len(other.row_ids) != len(first.row_ids):
                raise FormatError(
                    f"Dataset manifest {self.path}: expected member {other.path} to have the {len(first.row_ids)} rows of {first.path}, "
                    f"found {len(other.row_ids)}.",
                    path=other.path,
                )
            differ = np.flatnonzero(other.row_ids != first.row_ids)
            if len(differ):
                i = int(differ[0])
                raise FormatError(
                    f"Dataset manifest {self.path}: expected member {other.path} to have the rows of {first.path} in the same order, "
                    f"found row {i} is {str(other.row_ids[i])!r} where {first.path} has {str(first.row_ids[i])!r}.",
                    path=other.path,
                )

    def _check_unique_cols(self) -> None:
        # Each member's ids are unique (its reader checked), so a duplicate lies in two members.
        repeated = pd.Index(self.col_ids).duplicated()
        if repeated.any():
            second = int(np.flatnonzero(repeated)[0])
            dup = str(self.col_ids[second])
            first = int(np.flatnonzero(self.col_ids == dup)[0])
            a, b = (self.members[self._member_of(p)].path for p in (first, second))
            raise FormatError(
                f"Dataset manifest {self.path}: expected column ids unique across the member files, found {dup!r} in both {a} and {b}.",
                path=b,
            )

    def _member_of(self, position: int) -> int:
        return int(np.searchsorted(self.offsets, position, side="right")) - 1

    # --- the reader interface ---
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        for member in self.members:
            member.close()

    @property
    def shape(self) -> tuple[int, int]:
        """(n_cols, n_rows) = (samples, genes), over all members."""
        return (len(self.col_ids), len(self.row_ids))

    @property
    def dtype(self) -> np.dtype:
        return np.result_type(*(m.dtype for m in self.members))

    @property
    def row_meta(self) -> pd.DataFrame:
        return self.members[0].row_meta

    @property
    def col_meta(self) -> pd.DataFrame:
        if self._col_meta is None:
            parts = [m.col_meta for m in self.members]
            columns = list(dict.fromkeys(c for p in parts for c in p.columns))
            # An empty frame reindexed to the others' fields, so that concat does not warn about all-NA columns.
            self._col_meta = pd.concat([p.reindex(columns=columns) for p in parts])
            self._col_meta.index.name = "id"
        return self._col_meta

    def read(self, cols=None, rows=None) -> np.ndarray:
        """Read a (len(cols), len(rows)) float32 block; cols/rows are positions (None = all), any order.

        Each member is asked only for its own columns (in the caller's order
        within it); memory is the result plus one member's share of it.
        """
        n_cols, n_rows = self.shape
        col_pos = as_positions(cols, n_cols, what=f"{self.path} cols")
        row_pos = as_positions(rows, n_rows, what=f"{self.path} rows")
        if col_pos is None:
            return np.concatenate([m.read(rows=row_pos) for m in self.members]).astype(np.float32, copy=False)
        out = np.empty((len(col_pos), n_rows if row_pos is None else len(row_pos)), dtype=np.float32)
        owner = np.searchsorted(self.offsets, col_pos, side="right") - 1  # member of each requested column
        for k, member in enumerate(self.members):
            mine = np.flatnonzero(owner == k)
            if len(mine):
                out[mine] = member.read(cols=col_pos[mine] - self.offsets[k], rows=row_pos)
        return out

    def iter_chunks(self, chunk_size: int, rows=None, *, start: int = 0) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """Yield (start, col_ids, block (chunk, n_rows_sel)) for consecutive blocks of samples.

        Blocks lie at start, start + chunk_size, ... over the concatenation,
        as for one file; a block that spans two members is read in two pieces.
        """
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive integer, found {chunk_size}.")
        n_cols, n_rows = self.shape
        row_pos = as_positions(rows, n_rows, what=f"{self.path} rows")
        for lo in range(start, n_cols, chunk_size):
            hi = min(lo + chunk_size, n_cols)
            pieces = []
            for k in range(self._member_of(lo), len(self.members)):
                a, b = max(lo, self.offsets[k]), min(hi, self.offsets[k + 1])
                if a >= hi:
                    break
                if a < b:
                    offset = int(self.offsets[k])
                    # One contiguous span of the member, read as the member reads its own chunks.
                    _, _, piece = next(self.members[k].iter_chunks(int(b - a), rows=row_pos, start=int(a) - offset))
                    pieces.append(piece)
            block = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
            yield lo, self.col_ids[lo:hi], block


def _stat(member: Path, *, manifest_path) -> os.stat_result:
    try:
        return member.stat()
    except FileNotFoundError:
        raise FormatError(f"Dataset manifest {manifest_path}: member file {member} does not exist.", path=member) from None


def _recorded_path(member: Path, manifest_path: Path, relative_to) -> str:
    if relative_to is not None and member.is_relative_to(Path(relative_to).resolve()):
        return os.path.relpath(member, manifest_path.parent.resolve())
    return str(member)


def _when(mtime_ns: int) -> str:
    return datetime.fromtimestamp(mtime_ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
