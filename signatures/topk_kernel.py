"""The compiled loop of the per-gene index: a gene row's six top-k lists in one pass.

signatures.topk_rows calls select_block on a block of gene-major rows and
turns what it writes into TopRows. For each gene row (n values, the columns
of one perturbation type in store order) it finds the six lists of
signatures.topk.TopKAccumulator, row for row:

    list l = 3 d + m, d = 0 up (cd > 0), 1 down (cd < 0); m = 0 CD, 1 log2FC, 2 rank.
    key (larger is better), s = +1 up, -1 down, N = n_genes:
        CD:     s * cd
        log2FC: s * logfc
        rank:   -signatures.order.rank_key(rank, cd), rank = rank_up (up) or
                N + 1 - rank_up (down): the rank, then larger |CD|
    order: key descending, then column ascending (the tie rule).

The direction is the sign of CD; a NaN CD, or a zero, is neither sign and in
no list. A NaN log2FC is in no log2FC list (its key compares false), the
same as signatures.topk_rows has always done; the store writes none where
the CD is a number. Keys are float64: float32 values widen exactly, -0.0 and
0.0 tie as they compare, and the rank key is the same float64 expression as
rank_key's, so it orders alike.

Method: threshold buffers. Each list keeps a buffer of at most C > k
(key, column) pairs (signatures.topk_rows: 4 k) and a threshold T, first -inf. The row is read once, in
column order; a value enters its direction's three buffers where its key is
> T (all eligible values while T = -inf). When a buffer is full, a
quickselect finds its k-th best key K; every pair better than K is kept, and
of those equal to K the earliest columns, k in all; T becomes K. A later
value whose key equals T comes after k pairs at least as good, so it can be
left out: after the first compaction the test is strict. The buffer stays in
column order (it is appended to and compacted in order), so the final
selection is the same compaction once more. The rank key needs a division;
it is computed only where the rank alone could pass, since
rank - 0.5 <= rank_key(rank, cd) <= rank.

On random column order a list sees about C + k ln(n / C) values enter and
is compacted once or twice (signatures/s: bench/bench_index.py); on sorted
or tied data it costs at most one quickselect of C values per C - k values
entered, O(n) per row in all cases.

The three lists of a direction are merged (each is in column order) into
the direction's rows, each with its flags: bit 1 CD, 2 log2FC, 4 rank.

Memory per call: the six buffers (6 x C x 12 bytes, 58 KiB for k = 100) and
its outputs, (rows, 2, 3 k) columns and flags and (rows, 2) counts, which
the caller allocates; the kernel allocates nothing per row.

select_block runs without the GIL (nogil), so threads can run it on
different gene blocks at once; it is compiled once per rank dtype (int16,
int32: signatures.store.rank_dtype) and cached on disk (cache=True, in
__pycache__ beside this file; first compile a few seconds).

Imports numpy and numba only.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# _shrink estimates its threshold from about this many of a buffer's keys.
SAMPLE = 64

@njit(cache=True, nogil=True)
def _kth_largest(a, m, k):
    """The k-th largest of a[:m] (1 <= k <= m, no NaN), by quickselect; reorders a[:m].

    The partitions are branchless (every element is swapped, the boundary
    moves by the comparison): on random keys a branch per element would be
    mispredicted half the time, most of the cost.
    """
    target = m - k  # its place in ascending order
    lo = 0
    hi = m  # [lo, hi) holds the target
    while hi - lo > 16:
        # Median of three as the pivot, so that sorted buffers do not take quadratic time.
        x, y, z = a[lo], a[(lo + hi) >> 1], a[hi - 1]
        pivot = max(min(x, y), min(max(x, y), z))
        less = lo
        for i in range(lo, hi):  # [lo, less) < pivot <= [less, i)
            v = a[i]
            a[i] = a[less]
            a[less] = v
            less += v < pivot
        if target < less:
            hi = less
            continue
        equal = less
        for i in range(less, hi):  # [less, equal) == pivot < [equal, i)
            v = a[i]
            a[i] = a[equal]
            a[equal] = v
            equal += v == pivot
        if target < equal:
            return pivot
        lo = equal
    for i in range(lo + 1, hi):  # insertion sort of the last few
        v = a[i]
        j = i - 1
        while j >= lo and a[j] > v:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = v
    return a[target]


@njit(cache=True, nogil=True)
def _compact(keys, cols, fill, thr, l, k, scratch):
    """Keep list l's k best pairs (ties: earliest columns), in column order; thr[l] = the k-th best key."""
    m = fill[l]
    for i in range(m):
        scratch[i] = keys[l, i]
    kth = _kth_largest(scratch, m, k)
    greater = 0
    for i in range(m):
        greater += keys[l, i] > kth
    ties = k - greater  # the earliest `ties` pairs equal to kth stay
    out = 0
    for i in range(m):  # branchless: every pair is written, the end moves where it stays
        key = keys[l, i]
        tie = (key == kth) & (ties > 0)
        ties -= tie
        keys[l, out] = key
        cols[l, out] = cols[l, i]
        out += (key > kth) | tie
    fill[l] = out
    thr[l] = kth


@njit(cache=True, nogil=True)
def _shrink(keys, cols, fill, thr, l, k, scratch):
    """Drop list l's pairs below a threshold T that at least k of them reach; thr[l] = T.

    T is the key that about 1.5 k of the buffer's m pairs reach, estimated
    from every (m // SAMPLE)-th key. Where fewer than k reach it, or so many
    that less than half the free room would be won (tied keys), _compact
    finds the exact k-th best instead. Cheaper than _compact on a full buffer
    (a quickselect of SAMPLE keys, not m), and as safe: the pairs kept are
    all those >= T, at least k, so a later value whose key is <= T is not
    among the k best.
    """
    m = fill[l]
    stride = max(1, m // SAMPLE)
    size = 0
    for i in range(0, m, stride):
        scratch[size] = keys[l, i]
        size += 1
    q = min(size, max(1, (3 * k * size) // (2 * m)))
    t = _kth_largest(scratch, size, q)
    reach = 0
    for i in range(m):
        reach += keys[l, i] >= t
    if reach < k or reach > (m + k) // 2:  # too few, or too many to free half the room (ties)
        _compact(keys, cols, fill, thr, l, k, scratch)
        return
    out = 0
    for i in range(m):  # branchless, as in _compact
        key = keys[l, i]
        keys[l, out] = key
        cols[l, out] = cols[l, i]
        out += key >= t
    fill[l] = out
    thr[l] = t


@njit(cache=True, nogil=True)
def select_block(cd, logfc, rank_up, n_genes, k, capacity, out_cols, out_flags, out_cd, out_fc, out_rank, counts):
    """Each row's six lists, merged per direction.

    cd, logfc: (rows, n) float32; rank_up: (rows, n) int16 or int32; n_genes:
    the store's gene count (rank_down = n_genes + 1 - rank_up); capacity: each
    list's buffer, more than k pairs. Writes out_cols (rows, 2, 3 k) int32, the row's members per direction in
    column order, out_flags (rows, 2, 3 k) uint8 their lists (bit 1 CD, 2
    log2FC, 4 rank) and counts (rows, 2) int32 how many there are.
    """
    rows, n = cd.shape
    keys = np.empty((6, capacity), dtype=np.float64)
    cols = np.empty((6, capacity), dtype=np.int32)
    scratch = np.empty(capacity, dtype=np.float64)
    fill = np.zeros(6, dtype=np.int64)
    thr = np.empty(6, dtype=np.float64)
    heads = np.zeros(3, dtype=np.int64)
    top = n_genes + 1
    for g in range(rows):
        fill[:] = 0
        thr[:] = -np.inf
        for j in range(n):
            c = np.float64(cd[g, j])
            if not abs(c) > 0.0:
                continue  # zero or NaN: neither sign
            # The direction without a branch (its sign is random from value to value).
            down = c < 0.0
            base = 3 if down else 0
            s = -1.0 if down else 1.0
            rank = np.int64(rank_up[g, j])
            rank = top - rank if down else rank
            key_cd = s * c
            key_fc = s * np.float64(logfc[g, j])
            key_rank = -np.inf
            if 0.5 - rank > thr[base + 2]:  # -rank_key <= 0.5 - rank: the division only where that passes
                a = abs(c)
                key_rank = -(np.float64(rank) - 0.5 * (a / (1.0 + a)))
            for m in range(3):
                key = key_cd if m == 0 else (key_fc if m == 1 else key_rank)
                l = base + m
                if key > thr[l]:
                    if fill[l] == capacity:
                        _shrink(keys, cols, fill, thr, l, k, scratch)
                        if not key > thr[l]:
                            continue
                    keys[l, fill[l]] = key
                    cols[l, fill[l]] = j
                    fill[l] += 1
        for l in range(6):
            if fill[l] > k:
                _compact(keys, cols, fill, thr, l, k, scratch)
        for d in range(2):
            # Three-way merge of the direction's lists, each in column order.
            heads[:] = 0
            out = 0
            while True:
                col = n
                for m in range(3):
                    if heads[m] < fill[3 * d + m] and cols[3 * d + m, heads[m]] < col:
                        col = cols[3 * d + m, heads[m]]
                if col == n:
                    break
                flags = 0
                for m in range(3):
                    if heads[m] < fill[3 * d + m] and cols[3 * d + m, heads[m]] == col:
                        flags |= 1 << m
                        heads[m] += 1
                out_cols[g, d, out] = col
                out_flags[g, d, out] = flags
                out_cd[g, d, out] = cd[g, col]
                out_fc[g, d, out] = logfc[g, col]
                rank = np.int64(rank_up[g, col])
                out_rank[g, d, out] = top - rank if d == 1 else rank
                out += 1
            counts[g, d] = out


@njit(cache=True, nogil=True)
def gather_rows(out_cols, out_flags, out_cd, out_fc, out_rank, counts):
    """select_block's output as flat rows, sorted by (row, direction, column).

    Returns row, direction (0 up, 1 down), column, cd, logfc, rank in the
    direction and flags, one entry per (row, direction, member).
    """
    total = 0
    for g in range(counts.shape[0]):
        total += counts[g, 0] + counts[g, 1]
    row = np.empty(total, dtype=np.int64)
    direction = np.empty(total, dtype=np.int8)
    column = np.empty(total, dtype=np.int64)
    c = np.empty(total, dtype=np.float32)
    f = np.empty(total, dtype=np.float32)
    r = np.empty(total, dtype=np.int32)
    flags = np.empty(total, dtype=np.uint8)
    i = 0
    for g in range(counts.shape[0]):
        for d in range(2):
            for p in range(counts[g, d]):
                row[i] = g
                direction[i] = d
                column[i] = out_cols[g, d, p]
                c[i] = out_cd[g, d, p]
                f[i] = out_fc[g, d, p]
                r[i] = out_rank[g, d, p]
                flags[i] = out_flags[g, d, p]
                i += 1
    return row, direction, column, c, f, r, flags
