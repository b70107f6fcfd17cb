"""Per-gene top lists from gene-major rows: every list of a block of genes at once.

Computes exactly the rows of signatures.topk.TopKAccumulator (same lists, same
tie rule: key descending, then store column ascending; direction is the sign
of CD; logfc and rank lists only among signatures whose CD has the list's
sign) from a gene's values over a set of signature columns, read as
contiguous gene-major rows (signatures.store, gene_major.h5).

Per list: np.partition finds each gene's k-th best key, every key strictly
better is in the list, and the keys equal to the k-th fill the remaining
places in column order. Memory: a few (n_block_genes, n_columns) arrays.

Imports numpy (and reads a signatures.store.SignatureStore) only.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from signatures.topk import TopRows

DIRECTIONS = ("up", "down")
# A gene block holds at most this many bytes of values (cd, logfc, rank_up).
GENE_BLOCK_BYTES = 64 * 2**20
THREADS = 2


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


def _runs(columns: np.ndarray) -> list[tuple[int, int]]:
    """Sorted columns -> contiguous [start, stop) runs."""
    if len(columns) == 0:
        return []
    breaks = np.flatnonzero(np.diff(columns) != 1) + 1
    starts = np.concatenate([[0], breaks])
    stops = np.concatenate([breaks, [len(columns)]])
    return [(int(columns[a]), int(columns[b - 1]) + 1) for a, b in zip(starts, stops)]


def _bounded_map(fn, items):
    """fn over items on THREADS threads, results in order, at most THREADS items in flight."""
    with ThreadPoolExecutor(THREADS) as pool:
        pending = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= THREADS:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def store_top_rows(store, columns: np.ndarray, *, k: int, block_size: int = 1024, progress=None, desc: str = "index"):
    """TopRows of every gene of an open SignatureStore over `columns`, one gene block at a time.

    Reads each block of genes' gene-major rows restricted to `columns` (one
    read per contiguous column run) and selects its lists on THREADS threads,
    at most THREADS blocks in flight. Yields the blocks' TopRows in gene order.
    """
    columns = np.asarray(columns, dtype=np.int64)
    runs = _runs(columns)
    n_block = max(1, min(block_size, GENE_BLOCK_BYTES // (12 * max(1, len(columns)))))
    gene_blocks = [(a, min(a + n_block, store.n_genes)) for a in range(0, store.n_genes, n_block)]

    def block_rows(bounds):
        a, b = bounds
        cd, logfc, rank_up = store.read_gene_block(a, b, runs)
        return top_rows_from_genes(np.arange(a, b), columns, cd, logfc, rank_up, n_genes=store.n_genes, k=k)

    yield from _bounded_map(block_rows, progress(gene_blocks, desc=desc) if progress is not None else gene_blocks)
