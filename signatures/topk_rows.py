"""Per-gene top lists from gene-major rows: every list of a block of genes at once.

Computes exactly the rows of signatures.topk.TopKAccumulator (same lists, same
tie rule: key descending, then store column ascending; direction is the sign
of CD; logfc and rank lists only among signatures whose CD has the list's
sign) from a gene's values over a set of signature columns, read as
contiguous gene-major rows (signatures.store, gene_major.h5).

Per list: np.partition finds each gene's k-th best key, every key strictly
better is in the list, and the keys equal to the k-th fill the remaining
places in column order. Memory: a few (n_block_genes, n_columns) arrays.

Imports numpy only.
"""

from __future__ import annotations

import numpy as np

from signatures.topk import TopRows

DIRECTIONS = ("up", "down")


def _select(key: np.ndarray, k: int) -> np.ndarray:
    """(genes, n) float32 keys, -inf = not eligible -> bool mask of each row's top k (ties by position)."""
    n = key.shape[1]
    valid = key > -np.inf
    if n <= k:
        return valid
    kth = np.partition(key, n - k, axis=1)[:, n - k : n - k + 1]  # (genes, 1): the k-th largest key
    better = key > kth
    tied = (key == kth) & valid
    need = k - better.sum(axis=1)
    over = np.flatnonzero(tied.sum(axis=1) > need)  # genes where ties straddle the k-th place
    if len(over):
        sub = tied[over]
        sub &= np.cumsum(sub, axis=1) <= need[over, None]
        tied[over] = sub
    return better | tied


def top_rows_from_genes(
    genes: np.ndarray, columns: np.ndarray, cd: np.ndarray, logfc: np.ndarray, rank_up: np.ndarray, *, n_genes: int, k: int
) -> TopRows:
    """Top-k rows for `genes` over store `columns` (ascending).

    cd, logfc, rank_up: (len(genes), len(columns)) gene-major values; n_genes:
    the store's gene count (rank_down = n_genes + 1 - rank_up). Rows come
    sorted by gene, direction (up, down), signature, like TopKAccumulator.rows().
    """
    columns = np.asarray(columns, dtype=np.int64)
    if len(columns) > 1 and not (np.diff(columns) > 0).all():
        raise ValueError("columns must be strictly ascending (ties break by store column).")
    cd = np.asarray(cd, dtype=np.float32)
    logfc = np.asarray(logfc, dtype=np.float32)
    rank_up = np.asarray(rank_up, dtype=np.int32)
    if cd.shape != (len(genes), len(columns)) or logfc.shape != cd.shape or rank_up.shape != cd.shape:
        raise ValueError(f"values must be (genes, columns) = ({len(genes)}, {len(columns)}), found {cd.shape}, {logfc.shape}, {rank_up.shape}.")
    neg_inf = np.float32(-np.inf)
    rank_f = rank_up.astype(np.float32)
    masks = []  # per direction: (top_cd, top_logfc, top_rank), each (genes, columns)
    for direction in DIRECTIONS:
        sign = cd > 0 if direction == "up" else cd < 0
        s = np.float32(1 if direction == "up" else -1)
        masks.append(
            (
                _select(np.where(sign, s * cd, neg_inf), k),
                _select(np.where(sign, s * logfc, neg_inf), k),
                _select(np.where(sign, -rank_f if direction == "up" else rank_f - np.float32(n_genes + 1), neg_inf), k),
            )
        )
    union = np.stack([m[0] | m[1] | m[2] for m in masks], axis=1)  # (genes, 2, columns)
    g, d, c = np.nonzero(union)
    flags = [np.stack([m[i] for m in masks], axis=1)[g, d, c] for i in range(3)]
    r = rank_up[g, c]
    return TopRows(
        gene=np.asarray(genes, dtype=np.int64)[g],
        direction=np.array(DIRECTIONS)[d],
        signature=columns[c],
        cd=cd[g, c],
        logfc=logfc[g, c],
        rank=np.where(d == 0, r, n_genes + 1 - r).astype(np.int32),
        top_cd=flags[0],
        top_logfc=flags[1],
        top_rank=flags[2],
    )
