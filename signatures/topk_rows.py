"""Per-gene top lists from gene-major rows: every list of a block of genes at once.

Computes exactly the rows of signatures.topk.TopKAccumulator (same lists, same
tie rule: key descending, then store column ascending, the rank lists' key
being signatures.order.rank_key (rank, then larger |CD|); direction is the sign
of CD; logfc and rank lists only among signatures whose CD has the list's
sign; a NaN CD is neither sign, so it enters no list) from a gene's values
over a set of signature columns, read as contiguous gene-major rows
(signatures.store, gene_major.h5).

The lists are selected by the compiled loop of signatures.topk_kernel:
starting thresholds from every SAMPLE_STRIDE-th value, one scan of each gene
row with a threshold buffer per list, then the exact selection with the tie
rule (its docstring gives the method). A NaN log2FC
where the CD is a number (the store does not write one: a log2FC is a
difference of means, finite where the CD is) is never a member of the log2FC
list here; TopKAccumulator would give it a place and then drop it, leaving
that list one short.

store_top_rows reads gene blocks on THREADS threads, at most THREADS blocks in
flight: the kernel runs without the GIL, so one thread's kernel runs while
another reads (h5py serialises the reads). Memory, per block in flight: its
values (at most GENE_BLOCK_BYTES; 1,024 genes x 4,000 signatures x 10 bytes
= 39 MiB on bench/bench_index.py's data), the kernel's output (genes x 2 x
3k x 17 bytes, 10 MiB for 1,024 genes and k = 100) and the block's TopRows
(47 bytes a row, about 330 rows a gene there: 15 MiB), whatever the number
of genes; measured, 170 MB above the open store for THREADS = 2.

Speed (bench/bench_index.py --signatures 4000 --genes 23614, the 2-core
development machine, shared with other work): 5,753 signatures/s with the
load average at 0.8 (0.70 s, 1.15 CPU-seconds for the two threads), 3,000 to
4,350 at 1.7 to 2.6, against 1,950 to 2,600 for the numpy kernel it
replaced. The kernel costs about 42 us of CPU per gene row of 4,000 values
(signatures.topk_kernel), the read of the row from the page cache 11 to 18.

Imports numpy and numba (through signatures.topk_kernel) only, and reads a
signatures.store.SignatureStore.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from signatures.store import usable_cores
from signatures.topk import TopRows
from signatures.topk_kernel import gather_rows, select_block

DIRECTIONS = ("up", "down")
# A gene block holds at most this many bytes of values (cd, logfc, rank_up).
GENE_BLOCK_BYTES = 64 * 2**20
# Each list's buffer in the kernel holds this many times k (key, column) pairs. With
# the starting thresholds a buffer rarely fills: 4 k and 10 k measured alike.
CAPACITY_PER_K = 4
# The kernel's starting thresholds come from every SAMPLE_STRIDE-th value of a row
# longer than its buffers (shorter rows start at -inf: all their values fit).
SAMPLE_STRIDE = 16


def _threads() -> int:
    """The cores this process may use, at most 4.

    Each thread takes whole gene blocks, so a thread whose core other work
    keeps busy slows the blocks it takes; no parallel region waits for its
    slowest thread, the reason the demo gives PyTorch only the cores the load
    average leaves free (search/management/commands/demo.py). Beyond about 4 threads the reads,
    which h5py serialises, are the bound (3 to 4.5 ns per value against the
    kernel's 10 per value and thread, signatures.topk_kernel), and each thread
    holds one more gene block.
    """
    return max(1, min(4, usable_cores()))


THREADS = _threads()


def top_rows_from_genes(
    genes: np.ndarray, columns: np.ndarray, cd: np.ndarray, logfc: np.ndarray, rank_up: np.ndarray, *, n_genes: int, k: int
) -> TopRows:
    """Top-k rows for `genes` over store `columns` (ascending).

    cd, logfc, rank_up: (len(genes), len(columns)) gene-major values (rank_up
    int16 or int32, as signatures.store.rank_dtype); n_genes: the store's gene
    count (rank_down = n_genes + 1 - rank_up). Rows come sorted by gene,
    direction (up, down), signature, like TopKAccumulator.rows().
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, found {k}.")
    columns = np.asarray(columns, dtype=np.int64)
    if len(columns) > 1 and not (np.diff(columns) > 0).all():
        raise ValueError("columns must be strictly ascending (ties break by store column).")
    cd = np.ascontiguousarray(cd, dtype=np.float32)
    logfc = np.ascontiguousarray(logfc, dtype=np.float32)
    rank_up = np.asarray(rank_up)
    rank_up = np.ascontiguousarray(rank_up, dtype=rank_up.dtype if rank_up.dtype in (np.int16, np.int32) else np.int32)
    if cd.shape != (len(genes), len(columns)) or logfc.shape != cd.shape or rank_up.shape != cd.shape:
        raise ValueError(f"values must be (genes, columns) = ({len(genes)}, {len(columns)}), found {cd.shape}, {logfc.shape}, {rank_up.shape}.")
    genes = np.asarray(genes, dtype=np.int64)
    width = 3 * k  # a direction's rows: the union of its three lists
    out = (
        np.empty((len(genes), 2, width), dtype=np.int32),  # columns
        np.empty((len(genes), 2, width), dtype=np.uint8),  # flags
        np.empty((len(genes), 2, width), dtype=np.float32),  # cd
        np.empty((len(genes), 2, width), dtype=np.float32),  # logfc
        np.empty((len(genes), 2, width), dtype=np.int32),  # rank in the direction
        np.zeros((len(genes), 2), dtype=np.int32),  # counts
    )
    capacity = max(CAPACITY_PER_K * k, k + 1)
    select_block(cd, logfc, rank_up, n_genes, k, capacity, SAMPLE_STRIDE if len(columns) > capacity else 0, *out)
    gene, d, signature, c, f, r, flags = gather_rows(genes, columns, *out)
    return TopRows(
        gene=gene,
        direction=np.array(DIRECTIONS).take(d),
        signature=signature,
        cd=c,
        logfc=f,
        rank=r,
        top_cd=(flags & 1) > 0,
        top_logfc=(flags & 2) > 0,
        top_rank=(flags & 4) > 0,
    )


def _runs(columns: np.ndarray) -> list[tuple[int, int]]:
    """Sorted columns -> contiguous [start, stop) runs."""
    if len(columns) == 0:
        return []
    breaks = np.flatnonzero(np.diff(columns) != 1) + 1
    starts = np.concatenate([[0], breaks])
    stops = np.concatenate([breaks, [len(columns)]])
    return [(int(columns[a]), int(columns[b - 1]) + 1) for a, b in zip(starts, stops)]


def _bounded_map(fn, items, threads: int = THREADS):
    """fn over items on `threads` threads, results in order, at most `threads` items in flight."""
    with ThreadPoolExecutor(threads) as pool:
        pending = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= threads:
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
