"""Gene-centric ranking of signatures (DESIGN.md "Gene-centric ranking").

For one gene g and a set of signatures, a signature up-regulates g when its
CD coefficient for g is positive and down-regulates g when it is negative.
Three orders are offered: by CD coefficient, by log2 fold change, and by g's
rank inside the signature (1 = the signature's most up-, or down-, regulated
gene). Many signatures share a rank (a gene is the most up-regulated gene of
many signatures): ties in rank break by |CD|, larger first (`rank_key`), and
any remaining tie by store column, so every order is reproducible; the same
order is used for the precomputed top lists (signatures.topk_rows,
signatures.topk) and for exact queries. (CD and log2FC are floats: equal CDs
have equal |CD|, and a gene without a CD, whose log2FC would tie at 0, is in no
list, so those orders go straight to the column.)

Plain numpy: the Django query code calls it and it is tested without a database.
"""

from __future__ import annotations

import numpy as np

from signatures.order import rank_key

METRICS = ("cd", "logfc", "rank")
DIRECTIONS = ("up", "down")


def direction_rank(rank_up: np.ndarray, n_genes: int, direction: str) -> np.ndarray:
    """The gene's rank inside each signature in `direction`: rank_up, or n_genes + 1 - rank_up."""
    rank_up = np.asarray(rank_up, dtype=np.int64)
    return rank_up if direction == "up" else n_genes + 1 - rank_up


def sort_key(cd: np.ndarray, logfc: np.ndarray, rank: np.ndarray, *, direction: str, metric: str) -> np.ndarray:
    """Ascending key (smaller = better) for `metric` in `direction`; rank is already per direction."""
    if metric == "rank":
        return rank_key(rank, cd)
    values = np.asarray(cd if metric == "cd" else logfc, dtype=np.float64)
    return -values if direction == "up" else values


def rank_signatures(
    cd: np.ndarray,
    logfc: np.ndarray,
    rank_up: np.ndarray,
    columns: np.ndarray,
    *,
    n_genes: int,
    direction: str,
    metric: str,
    offset: int,
    limit: int,
) -> tuple[np.ndarray, int]:
    """Order the signatures that regulate the gene in `direction`; return one page of them.

    cd, logfc, rank_up: (n,) the gene's values in the candidate signatures;
    columns: (n,) their store columns (the tie-breaker). Returns (positions into
    the candidate arrays for items offset..offset+limit-1 in order, the number
    of candidates in `direction`).
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, found {direction!r}.")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, found {metric!r}.")
    cd = np.asarray(cd)
    candidates = np.flatnonzero(cd > 0 if direction == "up" else cd < 0)  # (m,)
    total = len(candidates)
    want = offset + limit
    if total == 0 or offset >= total or limit <= 0:
        return np.empty(0, dtype=np.int64), total
    key = sort_key(cd[candidates], np.asarray(logfc)[candidates], direction_rank(np.asarray(rank_up)[candidates], n_genes, direction), direction=direction, metric=metric)
    tie = np.asarray(columns)[candidates]
    if want < total:
        # Partial selection: keep everything at or better than the want-th key so
        # that ties across the boundary are ordered by column exactly as a full sort.
        kth = np.partition(key, want - 1)[want - 1]
        keep = np.flatnonzero(key <= kth)
        candidates, key, tie = candidates[keep], key[keep], tie[keep]
    order = np.lexsort((tie, key))  # primary key, then column
    return candidates[order][offset:want].astype(np.int64), total
