"""GCTX (CMap's HDF5 matrix format) reading and writing with h5py.

Layout (the one cmapPy and CMap's MATLAB tools write and read):
    /0/DATA/0/matrix   (n_cols, n_rows) = (samples, genes)
    /0/META/ROW/id     gene ids (fixed-length bytes, sometimes int64)
    /0/META/COL/id     sample ids
    /0/META/{ROW,COL}/<field>   one dataset per metadata field, -666 = missing
    root attribute version = "GCTX1.0"

The real Level 3 file is 1,319,138 x 12,328 (65 GB): the reader never loads
the whole matrix; `read` takes row/column selections and `iter_chunks` streams
blocks of samples.
"""

from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from conversion.files import atomic_path
from conversion.formats._common import Hdf5Reader, as_positions, check_unique, contiguous_runs, decode_text, encode_meta, meta_frame
from conversion.formats.errors import FormatError

MATRIX = "0/DATA/0/matrix"
ROW_META = "0/META/ROW"
COL_META = "0/META/COL"
VERSION = "GCTX1.0"

# Target size of one HDF5 chunk written by GctxWriter: big enough for fast
# sequential reads, small enough that reading one sample touches ~1 MB.
CHUNK_BYTES = 1 << 20


class GctxReader(Hdf5Reader):
    """Read a GCTX file by selection or in chunks of samples.

    Matrices come back as float32 arrays shaped (samples, genes), i.e.
    (GCTX columns, GCTX rows). Ids are str arrays (int64 ids become strings).
    """

    kind = "GCTX"

    def _open(self) -> None:
        h5 = self._h5
        for required in (MATRIX, f"{ROW_META}/id", f"{COL_META}/id"):
            if required not in h5:
                raise FormatError(f"GCTX file {self.path}: expected dataset /{required}, found none.", path=self.path)
        self._matrix = h5[MATRIX]
        try:
            self.row_ids = decode_text(h5[f"{ROW_META}/id"][()])
            self.col_ids = decode_text(h5[f"{COL_META}/id"][()])
        except OSError as exc:
            raise FormatError(f"GCTX file {self.path}: could not read the ids, the file looks truncated ({exc}).", path=self.path) from None
        self.row_ids = self.row_ids.astype(str)
        self.col_ids = self.col_ids.astype(str)
        n_rows, n_cols = len(self.row_ids), len(self.col_ids)
        shape = self._matrix.shape
        if shape != (n_cols, n_rows):
            if shape == (n_rows, n_cols):
                raise FormatError(
                    f"GCTX file {self.path}: expected the matrix stored as (samples, genes) = ({n_cols}, {n_rows}), "
                    f"found it transposed ({shape[0]}, {shape[1]}).",
                    path=self.path,
                )
            raise FormatError(
                f"GCTX file {self.path}: expected a matrix of shape ({n_cols}, {n_rows}) to match {n_cols} column ids "
                f"and {n_rows} row ids, found {shape}.",
                path=self.path,
            )
        check_unique(self.row_ids, path=self.path, what="row (gene)")
        check_unique(self.col_ids, path=self.path, what="column (sample)")
        self._row_meta = None
        self._col_meta = None

    # --- shape and metadata ---
    @property
    def shape(self) -> tuple[int, int]:
        """(n_cols, n_rows) = (samples, genes), as stored."""
        return (len(self.col_ids), len(self.row_ids))

    @property
    def dtype(self) -> np.dtype:
        return self._matrix.dtype

    @property
    def chunks(self):
        return self._matrix.chunks

    @property
    def row_meta(self) -> pd.DataFrame:
        if self._row_meta is None:
            self._row_meta = self._read_meta(ROW_META, self.row_ids)
        return self._row_meta

    @property
    def col_meta(self) -> pd.DataFrame:
        if self._col_meta is None:
            self._col_meta = self._read_meta(COL_META, self.col_ids)
        return self._col_meta

    def _read_meta(self, group: str, ids: np.ndarray) -> pd.DataFrame:
        fields = {}
        for name, ds in self._h5[group].items():
            if name == "id" or not isinstance(ds, h5py.Dataset):
                continue
            if ds.shape != (len(ids),):
                raise FormatError(
                    f"GCTX file {self.path}: expected metadata field /{group}/{name} to hold {len(ids)} values, found shape {ds.shape}.",
                    path=self.path,
                )
            fields[name] = ds[()]
        return meta_frame(ids, fields)

    # --- data ---
    def read(self, cols=None, rows=None) -> np.ndarray:
        """Read a (len(cols), len(rows)) float32 block; cols/rows are positions (None = all), any order."""
        n_cols, n_rows = self.shape
        col_pos = as_positions(cols, n_cols, what=f"{self.path} cols")
        row_pos = as_positions(rows, n_rows, what=f"{self.path} rows")
        if col_pos is None:
            return self._read_span(0, n_cols, row_pos)
        out = np.empty((len(col_pos), n_rows if row_pos is None else len(row_pos)), dtype=np.float32)
        # HDF5 wants increasing, unique selections: read sorted spans, then scatter
        # back into the caller's order (duplicates are allowed in the request).
        uniq, inverse = np.unique(col_pos, return_inverse=True)
        sorted_block = np.empty((len(uniq), out.shape[1]), dtype=np.float32)
        filled = 0
        for lo, hi, part in contiguous_runs(uniq):
            span = self._read_span(lo, hi, row_pos)
            sorted_block[filled : filled + len(part)] = span[part - lo]
            filled += len(part)
        out[:] = sorted_block[inverse]
        return out

    def _damaged(self, lo: int, hi: int, exc: OSError) -> FormatError:
        return FormatError(
            f"GCTX file {self.path}: could not read samples {lo}..{hi - 1}; the file looks truncated or damaged ({exc}).",
            path=self.path,
        )

    def _read_span(self, lo: int, hi: int, row_pos: np.ndarray | None) -> np.ndarray:
        try:
            block = self._matrix[lo:hi]  # (hi - lo, n_rows)
        except OSError as exc:
            raise self._damaged(lo, hi, exc) from None
        if row_pos is not None:
            block = block[:, row_pos]
        return np.asarray(block, dtype=np.float32)

    def iter_chunks(self, chunk_size: int, rows=None, *, start: int = 0, reuse_buffer: bool = False) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """Yield (start, col_ids, block (chunk, n_rows_sel)) for consecutive blocks of samples.

        Memory stays at one block: chunk_size x n_genes float32 (plus the
        genes not selected, which HDF5 reads with the row they live in).
        With `reuse_buffer=True` every block is read into the same buffer (no
        fresh allocation and page faults per block, about 3x faster when the
        file is cached): the caller must be done with a block before asking
        for the next one.
        """
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive integer, found {chunk_size}.")
        n_cols, n_rows = self.shape
        row_pos = as_positions(rows, n_rows, what=f"{self.path} rows")
        buffer = None
        if reuse_buffer and self._matrix.dtype == np.float32:
            buffer = np.empty((min(chunk_size, max(n_cols - start, 0)), n_rows), dtype=np.float32)
        for lo in range(start, n_cols, chunk_size):
            hi = min(lo + chunk_size, n_cols)
            if buffer is None:
                block = self._read_span(lo, hi, row_pos)
            else:
                block = buffer[: hi - lo]
                try:
                    self._matrix.read_direct(block, np.s_[lo:hi])
                except OSError as exc:
                    raise self._damaged(lo, hi, exc) from None
                if row_pos is not None:
                    block = block[:, row_pos]
            yield lo, self.col_ids[lo:hi], block


class GctxWriter:
    """Write a GCTX file block by block; the file appears only when complete.

    Writes go to a hidden temporary file in the same directory, renamed over
    `path` by `close()` after every column has been written; on an exception
    inside the `with` block (or an incomplete matrix) the temporary file is
    deleted and `path` is left as it was.
    """

    def __init__(self, path, row_ids, n_cols: int, *, row_meta: pd.DataFrame | None = None, dtype="float32", attrs: dict[str, str] | None = None):
        self.path = Path(path)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.dtype("float32"), np.dtype("float16"), np.dtype("float64")):
            raise ValueError(f"GctxWriter dtype must be float32 or float16 (or float64), found {self.dtype}.")
        self.row_ids = np.asarray([str(r) for r in row_ids], dtype=object)
        check_unique(self.row_ids, path=self.path, what="row (gene)")
        self.n_cols = int(n_cols)
        n_rows = len(self.row_ids)
        self._col_ids = np.empty(self.n_cols, dtype=object)
        self._written = np.zeros(self.n_cols, dtype=bool)
        self._col_meta_parts: list[tuple[int, pd.DataFrame]] = []
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = atomic_path(self.path)
        self._h5 = h5py.File(self._file.tmp, "w")
        self._closed = False
        try:
            self._h5.attrs["version"] = np.bytes_(VERSION)
            for name, value in (attrs or {}).items():  # file-level text attributes beside CMap's `version`
                self._h5.attrs[name] = np.bytes_(str(value).encode("utf-8"))
            chunk_cols = max(1, min(self.n_cols, CHUNK_BYTES // max(1, n_rows * self.dtype.itemsize)))
            self._matrix = self._h5.create_dataset(
                MATRIX, shape=(self.n_cols, n_rows), dtype=self.dtype, chunks=(chunk_cols, max(1, n_rows)) if self.n_cols and n_rows else None
            )
            rows = self._h5.create_group(ROW_META)
            rows.create_dataset("id", data=encode_meta(self.row_ids, n_rows, name="id"))
            if row_meta is not None:
                self._write_meta(rows, _in_id_order(row_meta, self.row_ids), n_rows, what="row")
        except BaseException:
            self.abort()
            raise

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def write(self, start: int, block, col_ids, col_meta: pd.DataFrame | None = None) -> None:
        """Write samples start..start+k: block (k, n_rows), their ids and optional metadata rows."""
        block = np.asarray(block)
        k = block.shape[0] if block.ndim == 2 else -1
        if block.ndim != 2 or block.shape[1] != len(self.row_ids):
            raise ValueError(f"{self.path}: expected a block of shape (k, {len(self.row_ids)}), found {block.shape}.")
        if start < 0 or start + k > self.n_cols:
            raise ValueError(f"{self.path}: block {start}..{start + k} lies outside the {self.n_cols} columns.")
        col_ids = [str(c) for c in col_ids]
        if len(col_ids) != k:
            raise ValueError(f"{self.path}: expected {k} column ids for the block, found {len(col_ids)}.")
        if col_meta is not None:
            if len(col_meta) != k:
                raise ValueError(f"{self.path}: expected {k} metadata rows for the block, found {len(col_meta)}.")
            col_meta = _in_id_order(col_meta, np.asarray(col_ids, dtype=object))
            self._col_meta_parts.append((start, col_meta.reset_index(drop=True)))
        self._matrix[start : start + k] = block.astype(self.dtype, copy=False)
        self._col_ids[start : start + k] = col_ids
        self._written[start : start + k] = True

    def close(self) -> None:
        if self._closed:
            return
        try:
            missing = np.flatnonzero(~self._written)
            if len(missing):
                raise FormatError(
                    f"{self.path}: expected all {self.n_cols} columns to be written, found {len(missing)} missing (first at {missing[0]}).",
                    path=self.path,
                )
            check_unique(self._col_ids, path=self.path, what="column (sample)")
            cols = self._h5.create_group(COL_META)
            cols.create_dataset("id", data=encode_meta(self._col_ids, self.n_cols, name="id"))
            if self._col_meta_parts:
                parts = sorted(self._col_meta_parts, key=lambda p: p[0])
                meta = pd.concat([p[1] for p in parts], ignore_index=True)
                if len(meta) != self.n_cols:
                    raise ValueError(f"{self.path}: column metadata was given for {len(meta)} of {self.n_cols} columns; give it for every block or none.")
                self._write_meta(cols, meta, self.n_cols, what="column")
            self._h5.close()
            self._file.commit()
            self._closed = True
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Drop the temporary file; `path` is untouched."""
        if self._closed:
            return
        self._closed = True
        try:
            self._h5.close()
        finally:
            self._file.discard()

    @staticmethod
    def _write_meta(group, meta: pd.DataFrame, n: int, *, what: str) -> None:
        for name in meta.columns:
            if str(name) == "id":
                continue  # the ids are written from the ids argument
            group.create_dataset(str(name), data=encode_meta(meta[name].to_numpy(), n, name=f"{what} {name}"))


def _in_id_order(meta: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    """Metadata indexed by the same ids is put in id order; otherwise it is taken as positional."""
    index = meta.index.astype(str)
    if len(index) == len(ids) and index.is_unique and set(index) == set(ids):
        return meta.set_axis(index).loc[list(ids)]
    return meta


def write_gctx(path, matrix, row_ids, col_ids, *, row_meta=None, col_meta=None, dtype="float32") -> Path:
    """Write a whole (n_cols, n_rows) matrix as GCTX in one call (small matrices; tests, stores)."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape != (len(col_ids), len(row_ids)):
        raise ValueError(
            f"{path}: expected a matrix of shape (samples, genes) = ({len(col_ids)}, {len(row_ids)}), found {matrix.shape}."
        )
    with GctxWriter(path, row_ids, len(col_ids), row_meta=row_meta, dtype=dtype) as writer:
        writer.write(0, matrix, col_ids, col_meta=col_meta)
    return Path(path)
