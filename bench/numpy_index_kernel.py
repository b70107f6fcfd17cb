"""The previous index kernel, numpy bound-and-select, kept for bench/bench_index.py to measure against.

signatures/topk_rows.py until the numba kernel (signatures/topk_kernel.py)
replaced it, unchanged but for the store loop (bench_index.py drives it with
topk_rows' gene blocks and threads). It computes the same rows as
signatures.topk.TopKAccumulator, by this method:

1. Bound. Cut the row into m = n // g groups of about g columns (group j holds
   columns j, j + m, j + 2m, ...; g <= MAX_GROUP, m >= 2k) and take each
   group's best eligible key: one reduction over a (rows, g, m) view. T = the
   k-th best of these m group bests (np.partition of m values, not n). At
   least k groups hold an eligible key as good as T, so the row's k-th best
   key is at least as good as T and every member of the list is a
   *candidate*: eligible, with a key as good as T.
2. Exact. The candidates of all rows of a gene block, per (gene, direction)
   in output order, go into a (genes x 2, widest row) matrix per metric,
   non-members as the worst key; np.partition of that gives each row's exact
   k-th best key K. Every better member is in the list, and the members equal
   to K fill the remaining places in column order (the tie rule).

The full-size passes of step 1 run on sub-blocks of about SUB_BLOCK_CELLS
values, so that their temporaries stay in the core's cache.
"""

from __future__ import annotations

import numpy as np

from signatures.order import rank_key
from signatures.topk import TopRows

DIRECTIONS = ("up", "down")
# Genes are processed in sub-blocks of about this many values, so that the
# temporaries of one pass stay in the core's cache (measured: bench/bench_index.py).
SUB_BLOCK_CELLS = 2**16
# At most this many columns per group of the bound; fewer when the row is short.
MAX_GROUP = 8

_F32_MAX = np.float32(np.finfo(np.float32).max)
_F32_TINY = np.float32(np.finfo(np.float32).smallest_subnormal)


def _group_best(key: np.ndarray, g: int, op) -> np.ndarray:
    """(rows, n) -> (rows, n // g): op (np.fmax, np.fmin, np.maximum, np.minimum) over column groups j, j + m, j + 2m, ..."""
    rows, n = key.shape
    m = n // g
    out = op.reduce(key[:, : g * m].reshape(rows, g, m), axis=1)  # a view: (rows, g, m), no copy
    tail = n - g * m  # < g columns left over: fold them into the first groups
    if tail:
        op(out[:, :tail], key[:, g * m :], out=out[:, :tail])
    return out


def _kth(best: np.ndarray, k: int, *, largest: bool, none):
    """Each row's k-th largest (smallest) group best, or `none` where the row has fewer than k groups."""
    m = best.shape[1]
    if m < k:
        return np.full(best.shape[0], none, dtype=best.dtype)
    if best.dtype.kind == "f":
        best[np.isnan(best)] = none  # a group of NaNs only holds no key
    at = m - k if largest else k - 1
    return np.partition(best, at, axis=1)[:, at]


def _masked(x: np.ndarray, keep: np.ndarray, fill) -> np.ndarray:
    """32-bit x where keep, else fill; with bit operations (np.where on a random mask is 2 to 4 times slower)."""
    fill_bits = np.array(fill, dtype=x.dtype).view(np.int32)
    mask = keep.view(np.int8).astype(np.int32)
    np.negative(mask, out=mask)  # 0 or all ones
    out = x.view(np.int32) ^ fill_bits
    out &= mask
    out ^= fill_bits
    return out.view(x.dtype)


def _top_k(slot: np.ndarray, counts: np.ndarray, key: np.ndarray, member: np.ndarray, k: int) -> np.ndarray:
    """Bool mask of each row's k largest member keys, ties to the earlier candidate.

    The candidates come sorted by (row, column), counts per row; slot is each
    one's place in a (rows, widest row) matrix, flattened. They are laid out in
    that matrix, non-members as the smallest key, and np.partition of it gives
    each row's k-th largest key: every larger member is in, and the members
    tied with it fill the remaining places in column order.
    """
    width = int(counts.max()) if len(counts) else 0
    if width <= k:
        return member.copy()
    fill = key.dtype.type(-np.inf) if key.dtype.kind == "f" else np.iinfo(key.dtype).min
    keyed = _masked(key, member, fill) if key.dtype.itemsize == 4 else np.where(member, key, fill)
    pad = np.full((len(counts), width), fill, dtype=key.dtype)
    pad.ravel()[slot] = keyed
    kth = np.partition(pad, width - k, axis=1)[:, width - k]  # (rows,): fill where a row has fewer than k members, and all are in
    chosen = keyed >= np.repeat(kth, counts)
    chosen &= member
    # A row holds more than k only where members tie with its k-th key: the later ones go
    # (a Python loop over those rows only: integer-valued or clipped data).
    n_chosen = np.count_nonzero(pad >= kth[:, None], axis=1)
    over = np.flatnonzero((n_chosen > k) & (kth != fill))
    if len(over):
        starts = np.cumsum(counts) - counts
        for r in over:
            a, b = starts[r], starts[r] + counts[r]
            tied = np.flatnonzero(chosen[a:b] & (keyed[a:b] == kth[r]))
            better = n_chosen[r] - len(tied)
            chosen[a + tied[k - better :]] = False
    return chosen


def _candidates(cd: np.ndarray, logfc: np.ndarray, rank_up: np.ndarray, *, n_genes: int, k: int):
    """One sub-block of rows (rows, n): (thresholds, candidates), both per (row, direction).

    A candidate of the up lists has cd > 0, of the down lists cd < 0. They are
    found in a (rows, 2, n) mask, so that np.flatnonzero gives them sorted by
    (row, direction, column), the order of the output rows.
    thresholds: (2 rows,) arrays for the cd, logfc and rank lists, one per
    (row, direction), for keys where larger is better: cd and logfc, negated
    for the down lists; -rank_up for the up list, rank_up for the down list.
    candidates: (flat index in (rows, 2, n), sorted; cd; logfc; rank_up; count per (row, direction)).
    """
    rows, n = cd.shape
    N = n_genes
    g = max(1, min(MAX_GROUP, n // (2 * k)))  # at least 2k groups
    up = cd > 0
    down = cd < 0
    inf = np.float32(np.inf)
    fc_up = _masked(logfc, up, -inf)
    fc_down = _masked(logfc, down, inf)
    rk = np.add(~up, down, dtype=np.int32)
    rk *= N + 1  # classes apart even for rank_up 0, a gene without a CD (signatures.store.ranks_up)
    rk += rank_up
    # Thresholds, clamped to the eligible range: where a row has fewer than k
    # eligible values every eligible value is a candidate.
    t = (
        np.maximum(_kth(_group_best(cd, g, np.fmax), k, largest=True, none=-inf), _F32_TINY),
        np.maximum(_kth(_group_best(fc_up, g, np.fmax), k, largest=True, none=-inf), -_F32_MAX),
        np.minimum(_kth(_group_best(rk, g, np.minimum), k, largest=False, none=3 * (N + 1)), N),
        np.minimum(_kth(_group_best(cd, g, np.fmin), k, largest=False, none=inf), -_F32_TINY),
        np.minimum(_kth(_group_best(fc_down, g, np.fmin), k, largest=False, none=inf), _F32_MAX),
        np.maximum(_kth(_group_best(rk, g, np.maximum), k, largest=True, none=0), 2 * (N + 1) + 1),
    )
    cand = np.empty((rows, 2, n), dtype=bool)
    np.greater_equal(cd, t[0][:, None], out=cand[:, 0])
    cand[:, 0] |= fc_up >= t[1][:, None]
    cand[:, 0] |= rk <= t[2][:, None]
    np.less_equal(cd, t[3][:, None], out=cand[:, 1])
    cand[:, 1] |= fc_down <= t[4][:, None]
    cand[:, 1] |= rk >= t[5][:, None]
    idx = np.flatnonzero(cand)  # sorted by (row, direction, column)
    half = idx // n  # 2 row + direction
    src = idx - (half - (half >> 1)) * n  # flat index in (rows, n)
    counts = np.diff(np.searchsorted(idx, np.arange(2 * rows + 1) * n))  # (2 rows,)
    # In larger-is-better units (the rank thresholds were in units of the combined key).
    thresholds = (
        np.stack([t[0], -t[3]], axis=1).ravel(),
        np.stack([t[1], -t[4]], axis=1).ravel(),
        np.stack([-t[2], t[5] - 2 * (N + 1)], axis=1).ravel(),
    )
    # Gathered while the sub-block is in cache.
    return thresholds, (idx, cd.ravel().take(src), logfc.ravel().take(src), rank_up.ravel().take(src), counts)


def _select(cand, t, *, n: int, k: int, n_genes: int) -> np.ndarray:
    """Candidates (flat index in (genes, 2, n), cd, logfc, rank_up, count per (gene, direction)) -> flags, bit 1 cd, 2 logfc, 4 rank."""
    i, c, f, r, counts = cand
    width = int(counts.max()) if len(counts) else 0
    starts = np.cumsum(counts) - counts
    slot = np.arange(len(i)) + np.repeat(np.arange(len(counts)) * width - starts, counts)
    d = ((i // n) & 1).astype(np.int8)  # 0 up, 1 down
    sign = np.float32(1) - np.float32(2) * d  # +1 up, -1 down: every key larger-is-better
    rank_units = r * (2 * d.astype(np.int32) - 1)  # the thresholds' units: -rank_up up, rank_up down
    # Ranks tie often: the rank list orders by signatures.order.rank_key (rank, then larger |CD|), negated.
    rank_in_direction = np.where(d == 0, r, n_genes + 1 - r)
    keys = (c * sign, f * sign, -rank_key(rank_in_direction, c))
    flags = np.zeros(len(i), dtype=np.uint8)
    for shift, (key, threshold, units) in enumerate(zip(keys, t, (keys[0], keys[1], rank_units))):
        member = units >= np.repeat(threshold, counts)
        flags |= _top_k(slot, counts, key, member, k).view(np.uint8) << np.uint8(shift)
    return flags


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
    cd = np.ascontiguousarray(cd, dtype=np.float32)
    logfc = np.ascontiguousarray(logfc, dtype=np.float32)
    rank_up = np.ascontiguousarray(rank_up, dtype=np.int32)
    if cd.shape != (len(genes), len(columns)) or logfc.shape != cd.shape or rank_up.shape != cd.shape:
        raise ValueError(f"values must be (genes, columns) = ({len(genes)}, {len(columns)}), found {cd.shape}, {logfc.shape}, {rank_up.shape}.")
    genes = np.asarray(genes, dtype=np.int64)
    n = len(columns)
    if n == 0 or len(genes) == 0:
        empty = (np.zeros(0, dtype) for dtype in (np.int64, np.int8, np.int64, np.float32, np.float32, np.int32, np.uint8))
        return _rows(genes, columns, *empty, n_genes=n_genes)
    step = max(1, SUB_BLOCK_CELLS // n)
    # The full-size passes run per sub-block, whose temporaries stay in cache;
    # the candidates (about 2 x 200 per gene on bench/bench_index.py's data) are selected for the whole block at once.
    parts = [(a, *_candidates(cd[a : a + step], logfc[a : a + step], rank_up[a : a + step], n_genes=n_genes, k=k)) for a in range(0, len(genes), step)]
    t = [np.concatenate([p[1][j] for p in parts]) for j in range(3)]
    cand = [np.concatenate([p[2][0] + p[0] * 2 * n for p in parts])] + [np.concatenate([p[2][j] for p in parts]) for j in (1, 2, 3, 4)]
    flags = _select(cand, t, n=n, k=k, n_genes=n_genes)
    keep = np.flatnonzero(flags)
    i, c, f, r, flags = (x.take(keep) for x in (*cand[:4], flags))
    half = i // n  # 2 gene + direction: the rows are already in output order
    return _rows(genes, columns, half >> 1, (half & 1).astype(np.int8), i - half * n, c, f, r, flags, n_genes=n_genes)


def _rows(genes, columns, row, d, col, c, f, r, flags, *, n_genes: int) -> TopRows:
    return TopRows(
        gene=genes[row],
        direction=np.array(DIRECTIONS).take(d),
        signature=columns[col],
        cd=c,
        logfc=f,
        rank=r + d * (n_genes + 1 - 2 * r),  # rank_up, or rank_down = n_genes + 1 - rank_up where d = 1
        top_cd=(flags & 1) > 0,
        top_logfc=(flags & 2) > 0,
        top_rank=(flags & 4) > 0,
    )
