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
signature one (n,) x (n, genes) product. When a signature's sample set is not
the whole batch -- vehicle-only controls, or every other profile but those of
the same perturbagen or target gene (``group_controls``) -- the Gram matrix of
the batch is still computed once and each signature gets the
eigendecomposition of its own sub-matrix; a group whose controls are all the
other profiles uses the batch's shared one.

A gene with no variance among a signature's samples (the model outputs it
as a constant, e.g. clipped to 0 across a cell line) has no direction: the
reference gives it a coefficient that comes only from the z-scoring shift of
the other genes, an artefact a user would read as a finding. Its coefficient
is NaN (``constant_genes``); the other genes' coefficients are the
reference's, unchanged (the vector is normalised before the NaNs are set, so
it has unit length over all genes as the reference's has).

Imports numpy only; tested against a straightforward per-signature
implementation of the reference algorithm.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Components whose own explained-variance ratio is at most this are dropped (reference: 0.001).
VARIANCE_RATIO_CUTOFF = 0.001
# A gene whose values among a signature's samples span at most this (log2 units) is constant there.
CONSTANT_RANGE = 1e-6


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


def constant_genes(X: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """bool (genes,): genes whose values over `rows` of X (all rows when None) span at most CONSTANT_RANGE."""
    sub = X if rows is None else X[rows]
    return (sub.max(axis=0) - sub.min(axis=0)) <= CONSTANT_RANGE


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


def _direction_on_subset(Z: np.ndarray, gram: np.ndarray, group: np.ndarray, controls: np.ndarray, gamma: float, index: int) -> np.ndarray:
    """The (unnormalised) direction of one group against its controls, PCA on just those samples.

    Z: the z-scored batch (n, genes); gram = Z Z^T. The sub-matrix is centred
    in O(m^2) (G - row means - column means + grand mean) and the direction is
    one (n,) x (n, genes) product, with zero weight outside the sample set, so
    the rows of Z are never copied.
    """
    if len(controls) == 0:
        raise CDError(f"group {index} has no controls.")
    rows = np.concatenate([group, controls])
    m = len(rows)
    if m < 3:
        raise CDError(f"group {index} and its controls are {m} samples; at least 3 are needed.")
    sub = gram[np.ix_(rows, rows)]
    means = sub.mean(axis=0)
    centred = sub - means[:, None] - means[None, :] + means.mean()
    projector = _inverse_dd_projector(centred, gamma)
    w = np.zeros(m)
    w[: len(group)] = 1.0 / len(group)
    w[len(group) :] = -1.0 / len(controls)
    # b = Zc_s^T (P w) = Z_s^T (C P w), C the centring matrix of the sample set
    v = projector @ w
    weights = np.zeros(Z.shape[0])
    weights[rows] = v - v.mean()
    return weights @ Z


def characteristic_direction_batch(
    X: np.ndarray,
    groups: Sequence[Sequence[int]],
    *,
    controls: Sequence[int] | None = None,
    group_controls: Sequence[Sequence[int]] | None = None,
    gamma: float = 1.0,
) -> np.ndarray:
    """Characteristic directions of several treatment groups of one batch.

    X: (n_samples, n_genes) expression of every profile in the batch (log2 scale).
    groups: for each signature, the row positions of its treated replicates.
    controls: None compares each group with every other row of X; otherwise
        the row positions of the controls shared by all groups (e.g. vehicle
        controls), which must not overlap a group.
    group_controls: instead of `controls`, each group's own control rows (the
        reference pipeline leaves out the group's other doses and siblings).
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
    if controls is not None and group_controls is not None:
        raise CDError("give shared controls or per-group controls, not both.")
    if group_controls is not None and len(group_controls) != len(groups):
        raise CDError(f"group_controls must hold one control set per group: {len(groups)} groups, {len(group_controls)} sets.")
    own = None if group_controls is None else [np.asarray(c, dtype=np.int64) for c in group_controls]
    control_rows = None if controls is None else np.asarray(controls, dtype=np.int64)
    for i, g in enumerate(groups):
        if len(g) == 0 or g.min() < 0 or g.max() >= n:
            raise CDError(f"group {i} must hold row positions within 0..{n - 1}, found {g.tolist()}.")
        mine = control_rows if own is None else own[i]
        if mine is not None and np.intersect1d(g, mine).size:
            raise CDError(f"group {i} shares rows with the controls: {np.intersect1d(g, mine).tolist()}.")
        if mine is not None and len(mine) and (mine.min() < 0 or mine.max() >= n):
            raise CDError(f"the controls of group {i} must be row positions within 0..{n - 1}.")
    out = np.empty((len(groups), n_genes), dtype=np.float32)
    if not groups:
        return out

    Z = zscore_samples(X)  # (n, genes)
    if control_rows is None and own is None:
        if n < 3 or any(len(g) >= n for g in groups):
            raise CDError(f"each group needs at least one control and the batch at least 3 samples; batch has {n}.")
        own = [np.setdiff1d(np.arange(n), g) for g in groups]
    if own is not None:
        # Groups compared with every other row share the batch's PCA; the others get their own.
        whole = [i for i, (g, c) in enumerate(zip(groups, own)) if len(g) + len(c) == n]
        B = np.empty((len(groups), n_genes))
        if whole:
            Zc = Z - Z.mean(axis=0)  # centred per gene
            projector = _inverse_dd_projector(Zc @ Zc.T, gamma)  # (n, n)
            W = np.stack([_weights(n, groups[i], own[i]) for i in whole], axis=1)  # (n, len(whole))
            B[whole] = (projector @ W).T @ Zc
        rest = [i for i in range(len(groups)) if len(groups[i]) + len(own[i]) != n]
        if rest:
            gram = Z @ Z.T
            for i in rest:
                B[i] = _direction_on_subset(Z, gram, groups[i], own[i], gamma, i)
    else:
        if len(control_rows) == 0:
            raise CDError("controls were requested but the batch has none.")
        gram = Z @ Z.T  # (n, n), shared by every group's sub-matrix
        B = np.empty((len(groups), n_genes))
        for i, g in enumerate(groups):
            B[i] = _direction_on_subset(Z, gram, g, control_rows, gamma, i)
    norms = np.linalg.norm(B, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out[:] = B / norms
    _blank_constant_genes(X, groups, out, control_rows=control_rows, own=own)
    return out


def _blank_constant_genes(X: np.ndarray, groups, out: np.ndarray, *, control_rows, own) -> None:
    """Set NaN where a gene is constant over a group's samples (the group and its controls)."""
    if own is None:
        controls = X[control_rows]
        control_low, control_high = controls.min(axis=0), controls.max(axis=0)
        for i, g in enumerate(groups):
            sub = X[g]
            spread = np.maximum(sub.max(axis=0), control_high) - np.minimum(sub.min(axis=0), control_low)
            out[i, spread <= CONSTANT_RANGE] = np.nan
        return
    # A gene constant over a sample set of s rows has one value at least s times
    # in the batch: sorted per gene, some s consecutive values are equal. Only
    # those genes (the clipped ones, typically few) are checked per group.
    n = X.shape[0]
    smallest = min(len(g) + len(c) for g, c in zip(groups, own))
    ordered = np.sort(X, axis=0)
    candidates = np.flatnonzero(((ordered[smallest - 1 :] - ordered[: n - smallest + 1]) <= CONSTANT_RANGE).any(axis=0))
    if len(candidates) == 0:
        return
    sub = X[:, candidates]
    for i, (g, c) in enumerate(zip(groups, own)):
        out[i, candidates[constant_genes(sub, np.concatenate([g, c]))]] = np.nan
