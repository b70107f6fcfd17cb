"""Content checks for expression matrices, streamed chunk by chunk.

Shape, orientation and duplicate ids are checked when a file is opened; the
checks here read the values (NaN/inf, plainly not log-scale) and compare a
metadata table with the matrix columns.
"""

from dataclasses import dataclass

import numpy as np

from conversion.formats.errors import FormatError

# log2 expression (L1000 Level 3 is about 0-16; log2(count + 1) of RNA-seq stays
# below ~25 even for 30-million-read libraries). Anything above this is counts
# or intensities, not log values.
LOG_SCALE_MAX = 25.0


@dataclass
class MatrixSummary:
    n_profiles: int
    n_genes: int
    min: float
    max: float
    mean: float


def check_values(block: np.ndarray, *, path, start: int = 0, log_scale: bool = True) -> None:
    """Raise FormatError if block (samples, genes) has NaN/inf or values plainly not on a log2 scale."""
    finite = np.isfinite(block)
    if not finite.all():
        row, col = np.argwhere(~finite)[0]
        raise FormatError(
            f"{path}: expected finite expression values, found {block[row, col]} for sample {start + row} at gene position {col}.",
            path=path,
        )
    if log_scale and block.size:
        top = float(block.max())
        if top > LOG_SCALE_MAX:
            raise FormatError(
                f"{path}: expected log2-scale values (at most {LOG_SCALE_MAX:g}), found a maximum of {top:g} "
                "(raw counts or intensities? apply log2(x + 1) first).",
                path=path,
            )


def validate_matrix(reader, *, chunk_size: int = 10_000, log_scale: bool = True, progress=None) -> MatrixSummary:
    """Stream through every value once; returns a summary or raises FormatError naming the file."""
    n_cols, n_rows = reader.shape
    lo, hi, total = np.inf, -np.inf, 0.0
    for start, _ids, block in reader.iter_chunks(chunk_size):
        check_values(block, path=reader.path, start=start, log_scale=log_scale)
        if block.size:
            lo, hi = min(lo, float(block.min())), max(hi, float(block.max()))
            total += float(block.sum(dtype=np.float64))
        if progress is not None:
            progress(len(block))
    count = n_cols * n_rows
    return MatrixSummary(n_cols, n_rows, float(lo) if count else float("nan"), float(hi) if count else float("nan"), total / count if count else float("nan"))


def check_metadata_matches(meta_ids, col_ids, *, path, meta_path=None) -> None:
    """The metadata rows must name exactly the matrix columns, in the matrix's column order."""
    meta_ids = np.asarray(meta_ids, dtype=str)
    col_ids = np.asarray(col_ids, dtype=str)
    source = meta_path or "the metadata"
    if len(meta_ids) != len(col_ids):
        raise FormatError(f"{source}: expected {len(col_ids)} rows to match the columns of {path}, found {len(meta_ids)}.", path=meta_path or path)
    if not np.array_equal(meta_ids, col_ids):
        first = int(np.flatnonzero(meta_ids != col_ids)[0])
        raise FormatError(
            f"{source}: expected row {first} to describe column {str(col_ids[first])!r} of {path}, found {str(meta_ids[first])!r}.",
            path=meta_path or path,
        )
