"""The compiled loop of the per-gene index: a gene row's six top-k lists from one scan of the row.

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

Method, per row: a bound, one scan with threshold buffers, an exact selection.

1. Bound (_bound). From every SAMPLE_STRIDE-th value (16; signatures.topk_rows),
   each list's T0 = the q-th best key of the sample, q = 2.5 k / stride: at
   least q values of the row reach T0, about 2.5 k on random column order.
   The list's threshold starts just below T0 (every key >= T0 passes).
2. Scan (_scan). Each list keeps a buffer of at most C > k (key, column)
   pairs (signatures.topk_rows: C = 4 k), in column order. A first loop marks
   the values that may pass one of their direction's thresholds (float32 and
   integer comparisons against slightly looser bounds, SIMD code); a second
   enters the marked values, in column order, into each buffer whose
   threshold their key exceeds. A full buffer is shrunk (_shrink): a
   threshold T that at least k of its pairs reach (estimated from a sample of
   the buffer, or the exact k-th best key) and the pairs below T dropped; from
   then on a key must exceed T, since a later value equal to T comes after k
   pairs at least as good. With the bound, a buffer rarely fills: about 240
   values enter each list on bench/bench_index.py's data.
3. If a list's buffer holds fewer than k pairs while its T0 was set, members
   below T0 may be missing (an unlucky sample, or a row whose order is not
   random): the row is scanned again, that list from -inf.
4. Exact selection (_compact): a quickselect finds each buffer's k-th best
   key K; every pair better than K is kept and, of those equal to K, the
   earliest columns, k in all (the tie rule).

The rank key needs a division; the scan computes it only where the rank
alone could pass, since rank - 0.5 <= rank_key(rank, cd) <= rank. The three
lists of a direction are merged (each is in column order) into the
direction's rows, each with its flags: bit 1 CD, 2 log2FC, 4 rank, and their
values copied while the row is in cache.

Cost, measured as CPU time on one thread for a block of 1,024 rows of
bench/bench_index.py's data (4,000 values a row, k = 100; the 2-core
development machine with other work running), microseconds per row:
select_block 31 (bound 6, first loop 3, entering the marked values 9, exact
selection 8, merge and copy 4), and 42 for all of
signatures.topk_rows.top_rows_from_genes (10 ns a value), against 80 (20 ns)
for the numpy kernel it replaced (bench/numpy_index_kernel.py). On sorted or
tied rows the shrinks bound the work: at most one selection of C values per
C - k values entered, O(n) per row in all cases.

Memory per call, allocated once per block: the six buffers and a scratch
(7 x C x 8 bytes and 6 x C x 4: 31 KiB for k = 100), the sample (6 x n / 16
x 8 bytes) and the marks and marked columns (5 n bytes); the outputs,
(rows, 2, 3 k) x 17 bytes and (rows, 2) counts, come from the caller.

select_block runs without the GIL (nogil), so threads can run it on
different gene blocks at once; it is compiled once per rank dtype (int16,
int32: signatures.store.rank_dtype) and cached on disk (cache=True, in
__pycache__ beside this file, or NUMBA_CACHE_DIR): the first calls, for
both dtypes, compile for 3 to 7 s on the development machine, later
processes load the code in 0.3 to 0.5 s (bench/bench_index.py).

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


@njit(cache=True, nogil=True, inline="always")
def _rank_key(rank, c):
    """-signatures.order.rank_key(rank, c), the same float64 expression."""
    a = abs(c)
    return -(np.float64(rank) - 0.5 * (a / (1.0 + a)))


@njit(cache=True, nogil=True)
def _bound(cd, logfc, rank_up, g, top, k, stride, sample, size, thr, bounded):
    """Row g's starting thresholds, from every stride-th value: the key that about 2.5 k of the row reach.

    For each list, T0 = the q-th best key of the sample (q = 2.5 k / stride):
    q of the row's values reach it, and on random column order about q x
    stride. thr[l] = the largest float64 below T0, so that `key > thr` lets
    in every key >= T0 (ties with T0 may be among the k best); -inf where the
    sample holds fewer than q keys. bounded[l]: whether T0 was set.
    """
    n = cd.shape[1]
    size[:] = 0
    for j in range(stride >> 1, n, stride):
        c = np.float64(cd[g, j])
        if not abs(c) > 0.0:
            continue  # zero or NaN: neither sign
        down = c < 0.0
        base = 3 if down else 0
        s = -1.0 if down else 1.0
        rank = np.int64(rank_up[g, j])
        rank = top - rank if down else rank
        sample[base, size[base]] = s * c
        size[base] += 1
        key_fc = s * np.float64(logfc[g, j])
        if key_fc == key_fc:  # a NaN log2FC is in no list
            sample[base + 1, size[base + 1]] = key_fc
            size[base + 1] += 1
        sample[base + 2, size[base + 2]] = _rank_key(rank, c)
        size[base + 2] += 1
    q = max(1, (5 * k) // (2 * stride))
    for l in range(6):
        bounded[l] = size[l] >= q
        thr[l] = np.nextafter(_kth_largest(sample[l], size[l], q), -np.inf) if bounded[l] else -np.inf


@njit(cache=True, nogil=True, inline="always")
def _f32_below(t):
    """The largest float32 <= the float64 t: a value > t is >= it."""
    x = np.float32(t)
    return np.nextafter(x, np.float32(-np.inf)) if np.float64(x) > t else x


@njit(cache=True, nogil=True, inline="always")
def _rank_limit(t, top):
    """rank < limit for every integer rank with 0.5 - rank > t, clamped to 0 .. top + 1."""
    x = 0.5 - t
    return np.int64(top + 1) if x > top else (np.int64(0) if x < 0 else np.int64(np.ceil(x)))


@njit(cache=True, nogil=True)
def _scan(cd, logfc, rank_up, g, top, k, keys, cols, fill, thr, scratch, mask, hits):
    """Row g's values into the six buffers, in column order: every key > thr[l] enters list l.

    Two loops. The first marks the values that may pass a threshold of one
    of their direction's lists as they stand at the start (an entry only
    raises a threshold): float32 and integer comparisons against bounds
    a little looser than the thresholds (_f32_below, _rank_limit), without a
    branch, which the compiler turns into SIMD code; the marked columns are
    then listed. The second enters those values into the buffers one list at
    a time, in float64, against the thresholds as they rise. (Measured on
    bench/bench_index.py's data: the first loop takes about 0.7 ns a value,
    against about 4 for a scalar loop that lists the columns as it goes.)
    """
    n = cd.shape[1]
    capacity = keys.shape[1]
    fill[:] = 0
    up_cd, up_fc, down_cd, down_fc = _f32_below(thr[0]), _f32_below(thr[1]), _f32_below(thr[3]), _f32_below(thr[4])
    up_rank = _rank_limit(thr[2], top)  # up: rank = rank_up
    down_rank = top - _rank_limit(thr[5], top)  # down: rank = top - rank_up < limit
    for j in range(n):
        c = cd[g, j]
        f = logfc[g, j]
        r = np.int64(rank_up[g, j])
        # A zero or NaN CD is neither sign; a NaN log2FC compares false.
        up = (c > 0) & ((c >= up_cd) | (f >= up_fc) | (r < up_rank))
        down = (c < 0) & ((-c >= down_cd) | (-f >= down_fc) | (r > down_rank))
        mask[j] = up | down
    n_hits = 0
    for j in range(n):
        hits[n_hits] = j
        n_hits += mask[j]
    for h in range(n_hits):
        j = hits[h]
        c = np.float64(cd[g, j])
        down = c < 0.0
        base = 3 if down else 0
        s = -1.0 if down else 1.0
        rank = np.int64(rank_up[g, j])
        rank = top - rank if down else rank
        key_cd = s * c
        key_fc = s * np.float64(logfc[g, j])
        key_rank = _rank_key(rank, c) if 0.5 - rank > thr[base + 2] else -np.inf
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


@njit(cache=True, nogil=True)
def select_block(cd, logfc, rank_up, n_genes, k, capacity, stride, out_cols, out_flags, out_cd, out_fc, out_rank, counts):
    """Each row's six lists, merged per direction.

    cd, logfc: (rows, n) float32; rank_up: (rows, n) int16 or int32; n_genes:
    the store's gene count (rank_down = n_genes + 1 - rank_up); capacity: each
    list's buffer, more than k pairs; stride: _bound's sampling step (0: no
    bound, every buffer starts at -inf).
    Writes out_cols (rows, 2, 3 k) int32, the row's members per direction in
    column order, out_flags (rows, 2, 3 k) uint8 their lists (bit 1 CD, 2
    log2FC, 4 rank), out_cd, out_fc (float32) and out_rank (int32, the rank
    in the direction) their values, gathered while the row is in cache, and
    counts (rows, 2) int32 how many there are.
    """
    rows, n = cd.shape
    keys = np.empty((6, capacity), dtype=np.float64)
    cols = np.empty((6, capacity), dtype=np.int32)
    scratch = np.empty(capacity, dtype=np.float64)
    fill = np.zeros(6, dtype=np.int64)
    thr = np.empty(6, dtype=np.float64)
    start = np.empty(6, dtype=np.float64)
    bounded = np.zeros(6, dtype=np.bool_)
    sample = np.empty((6, n // stride + 1 if stride > 0 else 1), dtype=np.float64)
    size = np.zeros(6, dtype=np.int64)
    heads = np.zeros(3, dtype=np.int64)
    mask = np.empty(n, dtype=np.bool_)
    hits = np.empty(n, dtype=np.int32)
    top = n_genes + 1
    for g in range(rows):
        if stride > 0:
            _bound(cd, logfc, rank_up, g, top, k, stride, sample, size, thr, bounded)
        else:
            thr[:] = -np.inf
            bounded[:] = False
        start[:] = thr
        _scan(cd, logfc, rank_up, g, top, k, keys, cols, fill, thr, scratch, mask, hits)
        again = False
        for l in range(6):
            # A list that never filled its buffer holds every key >= T0; fewer than k of
            # them (the sample was unlucky, or the row's order is not random) means
            # members below T0 may be missing: the row is read again, that list from -inf
            # and the others from their T0 (a threshold raised during the scan is strict,
            # a T0 is not: only a T0 is a safe start).
            if bounded[l] and fill[l] < k:
                start[l] = -np.inf
                again = True
        if again:
            thr[:] = start
            _scan(cd, logfc, rank_up, g, top, k, keys, cols, fill, thr, scratch, mask, hits)
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
def gather_rows(genes, columns, out_cols, out_flags, out_cd, out_fc, out_rank, counts):
    """select_block's output as flat rows, sorted by (row, direction, column).

    genes: (rows,) int64, each row's gene; columns: (n,) int64, each column's
    store column. Returns gene, direction (0 up, 1 down), store column, cd,
    logfc, rank in the direction and flags, one entry per (row, direction,
    member).
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
                row[i] = genes[g]
                direction[i] = d
                column[i] = columns[out_cols[g, d, p]]
                c[i] = out_cd[g, d, p]
                f[i] = out_fc[g, d, p]
                r[i] = out_rank[g, d, p]
                flags[i] = out_flags[g, d, p]
                i += 1
    return row, direction, column, c, f, r, flags
