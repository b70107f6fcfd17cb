"""Helpers shared by the matrix readers: opening HDF5 files, id and metadata decoding, selections."""

from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from conversion.formats.errors import FormatError

# CMap's convention for a missing value in metadata (strings and numbers alike).
MISSING = -666
MISSING_STR = "-666"


class Hdf5Reader:
    """A read-only HDF5 file (GCTX, ARCHS4) and a context manager that closes it.

    Subclasses name their format in `kind` and read their layout in `_open`;
    a file that is missing, not HDF5, or of the wrong layout is a FormatError
    and leaves no handle open.
    """

    kind = "HDF5"

    def __init__(self, path):
        self.path = Path(path)
        try:
            self._h5 = h5py.File(self.path, "r")
        except FileNotFoundError:
            raise FormatError(f"{self.kind} file {self.path} does not exist.", path=self.path) from None
        except OSError as exc:
            raise FormatError(
                f"{self.kind} file {self.path} is not a readable HDF5 file (it may be truncated or of another format): {exc}.",
                path=self.path,
            ) from None
        try:
            self._open()
        except BaseException:
            self._h5.close()
            raise

    def _open(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self._h5.close()


def decode_text(values) -> np.ndarray:
    """Decode an array of bytes (or str, or numbers) to an object array of str.

    CMap-written files hold latin-1 bytes in a few fields (a 0xB5 micro sign in
    `pert_idose`); those are decoded as latin-1 instead of failing on UTF-8.
    """
    arr = np.asarray(values)
    if arr.dtype.kind == "S":
        try:
            return np.char.decode(arr, "utf-8").astype(object)
        except UnicodeDecodeError:
            pass  # fall through to the per-value decoding with a latin-1 fallback
    if arr.dtype.kind in "SO":
        out = np.empty(arr.shape, dtype=object)
        for i, v in enumerate(arr.ravel()):
            if isinstance(v, bytes):
                try:
                    out.flat[i] = v.decode("utf-8")
                except UnicodeDecodeError:
                    out.flat[i] = v.decode("latin-1")
            else:
                out.flat[i] = str(v)
        return out
    if arr.dtype.kind == "U":
        return arr.astype(object)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64).astype(str).astype(object)
    return arr.astype(str).astype(object)


def meta_column(values) -> pd.Series | np.ndarray:
    """Turn one stored metadata field into a column with `-666` as missing (None / NaN)."""
    arr = np.asarray(values)
    if arr.dtype.kind in "SUO":
        text = decode_text(arr)
        text[text == MISSING_STR] = None
        return pd.array(text, dtype="str")  # pandas' string dtype; missing is NaN
    if arr.dtype.kind in "iu":
        if (arr == MISSING).any():
            out = arr.astype(np.float64)
            out[arr == MISSING] = np.nan
            return out
        return arr.astype(np.int64)
    if arr.dtype.kind == "f":
        out = arr.astype(np.float64)
        out[out == MISSING] = np.nan
        return out
    return arr


def check_unique(ids: np.ndarray, *, path, what: str) -> None:
    """Ids must be unique: a duplicate makes every lookup by id ambiguous."""
    uniq, counts = np.unique(ids, return_counts=True)
    if len(uniq) != len(ids):
        dups = uniq[counts > 1]
        shown = ", ".join(map(str, dups[:5])) + (" ..." if len(dups) > 5 else "")
        raise FormatError(
            f"{path}: expected unique {what} ids, found {len(dups)} duplicated ({shown}).", path=path
        )


def as_positions(sel, n: int, *, what: str) -> np.ndarray | None:
    """Normalise a selection (None, slice, ints or booleans) to an int64 position array (None = all)."""
    if sel is None:
        return None
    if isinstance(sel, slice):
        return np.arange(n, dtype=np.int64)[sel]
    arr = np.asarray(sel)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise ValueError(f"{what}: a boolean mask must have length {n}, found {arr.shape}.")
        return np.flatnonzero(arr)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{what}: expected integer positions, found dtype {arr.dtype}.")
    arr = arr.astype(np.int64).ravel()
    if arr.min() < -n or arr.max() >= n:
        raise IndexError(f"{what}: positions must lie in [0, {n}), found {arr.min()}..{arr.max()}.")
    return np.where(arr < 0, arr + n, arr)


def contiguous_runs(sorted_positions: np.ndarray, *, max_gap: int = 32, max_run: int = 4096) -> Iterator[tuple[int, int, np.ndarray]]:
    """Group sorted unique positions into spans [lo, hi) worth reading in one slice.

    Reading a span and dropping the few unwanted rows is much faster in HDF5
    than a point selection per position; gaps above `max_gap` start a new span.
    """
    if len(sorted_positions) == 0:
        return
    breaks = np.flatnonzero(np.diff(sorted_positions) > max_gap) + 1
    for group in np.split(sorted_positions, breaks):
        for k in range(0, len(group), max_run):
            part = group[k : k + max_run]
            yield int(part[0]), int(part[-1]) + 1, part


def meta_frame(ids: np.ndarray, fields: dict[str, np.ndarray]) -> pd.DataFrame:
    frame = pd.DataFrame({name: meta_column(values) for name, values in fields.items()}, index=pd.Index(ids, name="id"))
    return frame


def encode_meta(values, n: int, *, name: str) -> np.ndarray:
    """Encode one metadata column for HDF5: numbers stay numeric, missing -> -666, text -> UTF-8 bytes."""
    s = pd.Series(values).reset_index(drop=True)
    if len(s) != n:
        raise ValueError(f"Metadata field {name!r}: expected {n} values, found {len(s)}.")
    if pd.api.types.is_bool_dtype(s):
        return s.astype(np.int64).to_numpy()
    if pd.api.types.is_integer_dtype(s) and not s.isna().any():
        return s.astype(np.int64).to_numpy()
    if pd.api.types.is_numeric_dtype(s):
        return s.astype(np.float64).fillna(MISSING).to_numpy()
    text = [MISSING_STR if (v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA) else str(v) for v in s]
    encoded = [t.encode("utf-8") for t in text]
    width = max([len(b) for b in encoded] + [1])
    return np.array(encoded, dtype=f"S{width}")
