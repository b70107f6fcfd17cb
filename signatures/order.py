"""The order of a gene's signatures in a rank list, shared by the per-gene index and the search.

Many signatures give a gene the same rank (it is the most up-regulated gene of
many of them); such ties break by |CD|, larger first, then by store column.
The index builders (signatures.topk_rows, signatures.topk) and the exact
queries (search.ranking) all order by this key, so a list read from the index
equals the same list computed from the store.

Imports numpy only.
"""

from __future__ import annotations

import numpy as np


def rank_key(rank: np.ndarray, cd: np.ndarray) -> np.ndarray:
    """float64, smaller = better: the rank in the list's direction, ties by larger |CD|.

    rank - a / (2 (1 + a)) with a = |CD|: the fraction grows with |CD| and stays
    below 1/2, so the rank always comes first. Every path (signatures.topk_rows,
    signatures.topk) computes exactly this expression in float64, so the index
    and the exact query order alike (|CD| values closer than about 1e-11 tie,
    and go by column).
    """
    a = np.abs(np.asarray(cd, dtype=np.float64))
    return np.asarray(rank, dtype=np.float64) - 0.5 * (a / (1.0 + a))
