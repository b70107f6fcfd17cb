"""GCT text matrices (versions 1.2 and 1.3), read whole: they are small by nature.

GCT 1.3 layout:
    #1.3
    n_rows  n_cols  n_row_meta  n_col_meta
    id  <row meta names...>  <col ids...>
    <col meta name>  <n_row_meta fillers>  <values per column...>   (n_col_meta lines)
    <row id>  <row meta values...>  <data per column...>            (n_rows lines)
GCT 1.2 has `Name Description <col ids>` and no metadata lines.
The file stores genes as lines; we return the matrix as (samples, genes).
"""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from conversion.formats._common import as_positions, check_unique, meta_frame
from conversion.formats.errors import FormatError


def read_gct(path):
    """Return (matrix (n_cols, n_rows) float32, row_ids, col_ids, row_meta, col_meta)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            version = fh.readline().decode("latin-1").strip()
            dims_line = fh.readline().decode("latin-1")
    except FileNotFoundError:
        raise FormatError(f"GCT file {path} does not exist.", path=path) from None
    if version not in ("#1.2", "#1.3"):
        raise FormatError(f"GCT file {path}: expected '#1.2' or '#1.3' on line 1, found {version[:40]!r}.", path=path)
    try:
        dims = [int(x) for x in dims_line.split()]
    except ValueError:
        raise FormatError(f"GCT file {path}: expected integer dimensions on line 2, found {dims_line.strip()[:80]!r}.", path=path) from None
    if version == "#1.3":
        if len(dims) != 4:
            raise FormatError(f"GCT file {path}: expected 4 numbers on line 2 of a GCT 1.3 file, found {len(dims)}.", path=path)
        n_rows, n_cols, n_row_meta, n_col_meta = dims
    else:
        if len(dims) != 2:
            raise FormatError(f"GCT file {path}: expected 2 numbers on line 2 of a GCT 1.2 file, found {len(dims)}.", path=path)
        n_rows, n_cols = dims
        n_row_meta, n_col_meta = 1, 0

    # Everything as text first: metadata lines mix types, and we decode latin-1 safely.
    table = pd.read_csv(
        path, sep="\t", skiprows=2, header=None, dtype=str, keep_default_na=False, encoding="latin-1", quoting=3
    )
    expected_width = 1 + n_row_meta + n_cols
    if table.shape[1] != expected_width:
        raise FormatError(
            f"GCT file {path}: expected {expected_width} tab-separated fields per line (1 id + {n_row_meta} row metadata + {n_cols} columns), found {table.shape[1]}.",
            path=path,
        )
    found_col_meta = len(table) - 1 - n_rows
    if found_col_meta < 0:
        raise FormatError(
            f"GCT file {path}: expected {n_rows} data lines, found {len(table) - 1 - max(n_col_meta, 0)} (truncated?).", path=path
        )
    if found_col_meta != n_col_meta:
        # cmapR's own example (modzs_n25x50.gct) declares 15 column-metadata
        # lines and carries 1: the data lines are the last n_rows lines, so the
        # metadata lines are whatever lies between the header and them.
        warnings.warn(
            f"GCT file {path}: line 2 declares {n_col_meta} column-metadata lines, found {found_col_meta}; using {found_col_meta}.",
            stacklevel=2,
        )
        n_col_meta = found_col_meta
    header = table.iloc[0].to_numpy()
    row_meta_names = list(header[1 : 1 + n_row_meta])
    col_ids = header[1 + n_row_meta :].astype(str)
    col_meta_block = table.iloc[1 : 1 + n_col_meta]
    data_block = table.iloc[1 + n_col_meta :]
    row_ids = data_block.iloc[:, 0].to_numpy().astype(str)
    check_unique(row_ids, path=path, what="row (gene)")
    check_unique(col_ids, path=path, what="column (sample)")

    try:
        matrix = data_block.iloc[:, 1 + n_row_meta :].replace({"": "nan", "NA": "nan", "NaN": "nan"}).to_numpy(dtype=np.float32).T
    except ValueError as exc:
        raise FormatError(f"GCT file {path}: expected numeric data values, found a non-number ({exc}).", path=path) from None
    matrix = np.ascontiguousarray(matrix)  # (n_cols, n_rows)

    if version == "#1.3":
        row_fields = {name: _typed(data_block.iloc[:, 1 + i].to_numpy()) for i, name in enumerate(row_meta_names)}
    else:
        row_fields = {"Description": data_block.iloc[:, 1].to_numpy().astype(object)}
    col_fields = {
        str(line.iloc[0]): _typed(line.iloc[1 + n_row_meta :].to_numpy()) for _, line in col_meta_block.iterrows()
    }
    return matrix, row_ids, col_ids, meta_frame(row_ids, row_fields), meta_frame(col_ids, col_fields)


def _typed(values: np.ndarray) -> np.ndarray:
    """Numbers become int64/float64 when every value parses, else the column stays text."""
    s = pd.Series(values, dtype=object)
    num = pd.to_numeric(s, errors="coerce")
    if num.notna().all():
        if (num == num.round()).all() and not any("." in v or "e" in v.lower() for v in s):
            return num.to_numpy().astype(np.int64)
        return num.to_numpy().astype(np.float64)
    return s.to_numpy(dtype=object)


class GctReader:
    """A GCT file with the GctxReader interface (the matrix is held in memory)."""

    def __init__(self, path):
        self.path = Path(path)
        self._matrix, self.row_ids, self.col_ids, self.row_meta, self.col_meta = read_gct(self.path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        pass

    @property
    def shape(self) -> tuple[int, int]:
        return self._matrix.shape

    @property
    def dtype(self) -> np.dtype:
        return self._matrix.dtype

    def read(self, cols=None, rows=None) -> np.ndarray:
        n_cols, n_rows = self.shape
        col_pos = as_positions(cols, n_cols, what=f"{self.path} cols")
        row_pos = as_positions(rows, n_rows, what=f"{self.path} rows")
        block = self._matrix if col_pos is None else self._matrix[col_pos]
        if row_pos is not None:
            block = block[:, row_pos]
        return np.array(block, dtype=np.float32)

    def iter_chunks(self, chunk_size: int, rows=None, *, start: int = 0):
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive integer, found {chunk_size}.")
        n_cols, n_rows = self.shape
        row_pos = as_positions(rows, n_rows, what=f"{self.path} rows")
        for lo in range(start, n_cols, chunk_size):
            hi = min(lo + chunk_size, n_cols)
            block = self._matrix[lo:hi]
            yield lo, self.col_ids[lo:hi], np.array(block if row_pos is None else block[:, row_pos], dtype=np.float32)
