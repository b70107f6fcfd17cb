"""Characteristic direction (Clark et al. 2014), many signatures per batch at once.

The reference Python implementation (``chdir`` in the Ma'ayan lab code) computes,
for one signature with treated samples T and control samples C:

1. z-score every sample across genes (``scipy.stats.zscore`` on the genes x
   samples matrix, axis 0, ddof 0);
2. ``meanvec = mean(Z[T]) - mean(Z[C])`` (the paper's Delta);
3. PCA of all samples of T and C (centred per gene), keeping the components
   whose own explained-variance ratio exceeds 0.001: ``V`` (genes, k);
4. ``dd = R^T R / (n - 2)`` with ``R`` the PCA scores; ``R = U S`` so ``dd`` is
   ``diag(S^2) / (n - 2)``;
5. shrinkage ``Dd = gamma * dd + (1 - gamma) * sigma * I`` with
   ``sigma = mean(diag(dd))`` (gamma = 1: no shrinkage);
6. ``b = V Dd^-1 V^T meanvec``, scaled to unit length; ``b > 0`` means higher
   in the treated samples.

(The scale of ``dd``, ``1/(n-2)`` here and ``1/n`` in some versions of the
reference code, cancels in step 6: ``sigma`` scales with ``dd`` and ``b`` is
normalised.)

Why this module is fast: the published pipelines compare a signature's
replicates against all other profiles of the same batch, so every signature of
a batch has the same sample set, and so the same PCA and ``dd``; only
``meanvec`` changes. We work in sample space. With ``Zc`` the centred z-scores
(n, genes) and ``G = Zc Zc^T = U S^2 U^T`` (n, n), the PCA directions are
``V = Zc^T U S^-1``. Because ``meanvec = Z^T w`` for a weight vector ``w``
(+1/|T| on treated rows, -1/|C| on control rows, 0 elsewhere, summing to 0),
``V^T meanvec = S U^T w`` and

    b = Zc^T (U Dd^-1 U^T w)                                   (n_genes,)

so a batch costs one Gram matrix and one small eigendecomposition, and each
signature one (n,) x (n, genes) product. With vehicle-only controls the sample
set is the group plus the vehicle controls, which differs per signature: the
Gram matrix of the batch is still computed once and each signature gets the
eigendecomposition of its own small sub-matrix.

Imports numpy only; tested against a straightforward per-signature
implementation of the reference algorithm.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Components whose own explained-variance ratio is at most this are dropped (reference: 0.001).
VARIANCE_RATIO_CUTOFF = 0.001


class CDError(ValueError):
    """Inputs the characteristic direction cannot be computed from."""


def zscore_samples(X: np.ndarray) -> np.ndarray:
    """Standardise every sample across genes (ddof 0): (n, genes) -> float64 (n, genes).

    A constant sample (standard deviation 0) becomes all zeros instead of NaN.
    """
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=1, keepdims=True)
    std = X.std(axis=1, keepdims=True)
    std[std == 0] = 1.0
    return (X - mean) / std


def _weights(n: int, treated: np.ndarray, controls: np.ndarray) -> np.ndarray:
    """w (n,): Z^T w = mean(Z[treated]) - mean(Z[controls])."""
    w = np.zeros(n)
    w[controls] = -1.0 / len(controls)
    w[treated] = 1.0 / len(treated)
    return w


def _inverse_dd_projector(gram_centred: np.ndarray, gamma: float) -> np.ndarray:
    """U Dd^-1 U^T (n, n) from the centred Gram matrix G = Zc Zc^T of n samples."""
    n = gram_centred.shape[0]
    eigvals, U = np.linalg.eigh(gram_centred)  # ascending; eigvals = S^2
    eigvals = np.clip(eigvals, 0.0, None)
    total = eigvals.sum()
    if total <= 0:
        raise CDError("all samples of the signature are identical after z-scoring; no direction exists.")
    keep = eigvals / total > VARIANCE_RATIO_CUTOFF
    dd = eigvals[keep] / (n - 2)  # (k,)
    sigma = dd.mean()
    shrunk = gamma * dd + (1.0 - gamma) * sigma
    Uk = U[:, keep]  # (n, k)
    return (Uk / shrunk) @ Uk.T


def characteristic_direction_batch(
    X: np.ndarray,
    groups: Sequence[Sequence[int]],
    *,
    controls: Sequence[int] | None = None,
    gamma: float = 1.0,
) -> np.ndarray:
    """Characteristic directions of several treatment groups of one batch.

    X: (n_samples, n_genes) expression of every profile in the batch (log2 scale).
    groups: for each signature, the row positions of its treated replicates.
    controls: None (the published pipelines' choice) compares each group with
        every other row of X; otherwise the row positions of the controls shared
        by all groups (e.g. vehicle controls), which must not overlap a group.
    gamma: shrinkage, 1 = none (reference default).

    Returns (n_groups, n_genes) float32, every row of unit length.
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise CDError(f"X must be a (samples, genes) matrix, found {X.ndim} dimensions.")
    n, n_genes = X.shape
    if not 0.0 <= gamma <= 1.0:
        raise CDError(f"gamma must be between 0 and 1, found {gamma}.")
    groups = [np.asarray(g, dtype=np.int64) for g in groups]
    control_rows = None if controls is None else np.asarray(controls, dtype=np.int64)
    for i, g in enumerate(groups):
        if len(g) == 0 or g.min() < 0 or g.max() >= n:
            raise CDError(f"group {i} must hold row positions within 0..{n - 1}, found {g.tolist()}.")
        if control_rows is not None and np.intersect1d(g, control_rows).size:
            raise CDError(f"group {i} shares rows with the controls: {np.intersect1d(g, control_rows).tolist()}.")
    out = np.empty((len(groups), n_genes), dtype=np.float32)
    if not groups:
        return out

    Z = zscore_samples(X)  # (n, genes)
    if control_rows is None:
        if n < 3 or any(len(g) >= n for g in groups):
            raise CDError(f"each group needs at least one control and the batch at least 3 samples; batch has {n}.")
        Zc = Z - Z.mean(axis=0)  # centred per gene
        projector = _inverse_dd_projector(Zc @ Zc.T, gamma)  # (n, n)
        W = np.stack([_weights(n, g, np.setdiff1d(np.arange(n), g)) for g in groups], axis=1)  # (n, n_groups)
        B = (projector @ W).T @ Zc  # (n_groups, genes)
    else:
        if len(control_rows) == 0:
            raise CDError("controls were requested but the batch has none.")
        gram = Z @ Z.T  # (n, n), shared by every group's sub-matrix
        B = np.empty((len(groups), n_genes))
        for i, g in enumerate(groups):
            rows = np.concatenate([g, control_rows])
            m = len(rows)
            if m < 3:
                raise CDError(f"group {i} and its controls are {m} samples; at least 3 are needed.")
            centre = np.eye(m) - 1.0 / m  # C: centring on this sample set
            sub = gram[np.ix_(rows, rows)]
            projector = _inverse_dd_projector(centre @ sub @ centre, gamma)
            w = np.zeros(m)
            w[: len(g)] = 1.0 / len(g)
            w[len(g) :] = -1.0 / len(control_rows)
            # b = Zc_s^T (P w) = Z_s^T (C P w)
            B[i] = (centre @ (projector @ w)) @ Z[rows]
    norms = np.linalg.norm(B, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out[:] = B / norms
    return out
