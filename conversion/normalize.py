"""RNA-seq normalisation: log2(count + 1), then quantile normalisation to a saved reference.

The reference distribution is fitted once on training data and stored in the
model bundle, so new data are mapped to the same scale (the reference code
refitted it on every input and never saved it). Everything is vectorised: one
argsort per sample, no Python loop over values.
"""

import numpy as np


def log2p1(counts) -> np.ndarray:
    """log2(count + 1) as float32; counts (samples, genes), non-negative."""
    counts = np.asarray(counts)
    if counts.size and np.nanmin(counts) < 0:
        raise ValueError(f"log2p1 expects non-negative counts, found a minimum of {np.nanmin(counts)}.")
    return np.log2(counts.astype(np.float32) + 1.0, dtype=np.float32)


class QuantileReference:
    """A sorted reference distribution (n_genes values) that each sample is mapped onto.

    Quantile normalisation (Bolstad et al. 2003): the reference is the mean of
    the per-sample sorted values; a sample's k-th smallest value is replaced by
    the reference's k-th value. Ties in a sample get the mean of the reference
    values over their ranks, so equal inputs map to equal outputs (this
    matters for the many zero counts in RNA-seq).
    """

    def __init__(self, values):
        values = np.asarray(values, dtype=np.float64).ravel()
        if values.size == 0 or not np.isfinite(values).all():
            raise ValueError(f"QuantileReference values must be a non-empty finite 1-D array, found {values.size} values.")
        self.values = np.sort(values)

    @property
    def n_genes(self) -> int:
        return len(self.values)

    @classmethod
    def fit(cls, matrix, *, chunk_size: int = 4096) -> "QuantileReference":
        """Fit on matrix (samples, genes): mean of the sorted samples, accumulated in chunks."""
        matrix = np.asarray(matrix)
        if matrix.ndim != 2 or matrix.shape[0] == 0:
            raise ValueError(f"QuantileReference.fit expects a (samples, genes) matrix with at least one sample, found shape {matrix.shape}.")
        total = np.zeros(matrix.shape[1], dtype=np.float64)
        for lo in range(0, matrix.shape[0], chunk_size):
            total += np.sort(matrix[lo : lo + chunk_size].astype(np.float64), axis=1).sum(axis=0)
        return cls(total / matrix.shape[0])

    def transform(self, matrix) -> np.ndarray:
        """Map each sample (row) of matrix (samples, genes) onto the reference; float32 out."""
        matrix = np.asarray(matrix)
        if matrix.ndim != 2 or matrix.shape[1] != self.n_genes:
            raise ValueError(
                f"QuantileReference.transform expects (samples, {self.n_genes}) to match the reference, found shape {matrix.shape}."
            )
        n, g = matrix.shape
        order = np.argsort(matrix, axis=1, kind="stable")  # (n, g): gene positions by increasing value
        sorted_vals = np.take_along_axis(matrix, order, axis=1)
        # Tie groups: a new group starts wherever the sorted value changes.
        new_group = np.ones((n, g), dtype=bool)
        new_group[:, 1:] = sorted_vals[:, 1:] != sorted_vals[:, :-1]
        group_id = np.cumsum(new_group, axis=1) - 1  # (n, g), 0-based per row
        # Sum of reference values per tie group, per row, via one flat bincount.
        offset = (np.arange(n) * g)[:, None]
        flat_group = (group_id + offset).ravel()
        sums = np.bincount(flat_group, weights=np.broadcast_to(self.values, (n, g)).ravel(), minlength=n * g)
        counts = np.bincount(flat_group, minlength=n * g)
        means = sums[flat_group] / counts[flat_group]
        out = np.empty((n, g), dtype=np.float32)
        np.put_along_axis(out, order, means.reshape(n, g).astype(np.float32), axis=1)
        return out
