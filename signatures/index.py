"""The per-gene index: GeneTopEntry rows for every gene, perturbation type and direction.

For each perturbation type we read the gene-major store (gene_major.h5) in
blocks of genes, each gene's row restricted to the type's signature columns,
and signatures.topk_rows.top_rows_from_genes selects the top k by CD, by
log2FC and by the gene's rank inside the signature, for both directions; two
threads work on alternate gene blocks (measured on 2 cores they gain little
over one: much of the kernel holds the GIL). The union is bulk-loaded with COPY. Memory: two gene blocks
in flight, each about ``GENE_BLOCK_BYTES`` of values (n_block_genes x the
type's signatures x cd, logfc, rank_up) plus a few masks of the same shape,
whatever the number of genes.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from django.db import transaction

from l1kweb.bulk import copy_rows
from signatures.models import GeneTopEntry, Release, ReleaseStatus, Signature
from signatures.store import open_store, ranks_up
from signatures.topk_rows import top_rows_from_genes

TOP_N = 100
BLOCK_SIZE = 1024
GENE_BLOCK_BYTES = 64 * 2**20
THREADS = 2

ENTRY_COLUMNS = ("release_id", "gene_id", "pert_type", "direction", "signature_id", "cd", "logfc", "rank", "top_cd", "top_logfc", "top_rank")


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


def build_index(release: Release, *, k: int = TOP_N, block_size: int = BLOCK_SIZE, progress=None) -> int:
    """Fill GeneTopEntry for the release (replacing any earlier index); returns the number of rows.

    block_size caps the genes per block (fewer when GENE_BLOCK_BYTES says so).
    The build runs on the CPU.
    """
    if release.status != ReleaseStatus.COMPLETE:
        raise ValueError(f"Release {release.name} is {release.status}; its signatures must be complete before the index is built.")
    sigs = Signature.objects.filter(release=release)
    by_column = dict(sigs.values_list("column", "pk"))
    types = sorted(set(sigs.values_list("pert_type", flat=True)))
    n_rows = 0
    with open_store(release.store_dir) as store:
        if store.n_signatures != len(by_column):
            raise ValueError(f"Release {release.name}: the store holds {store.n_signatures} signatures but the database {len(by_column)}.")
        pk_of_column = np.zeros(store.n_signatures, dtype=np.int64)
        for column, pk in by_column.items():
            pk_of_column[column] = pk
        gene_ids = store.gene_entrez_ids
        with transaction.atomic():
            Release.objects.filter(pk=release.pk).update(index_built=False)
            GeneTopEntry.objects.filter(release=release).delete()
            for pert_type in types:
                columns = np.array(sorted(sigs.filter(pert_type=pert_type).values_list("column", flat=True)), dtype=np.int64)
                runs = _runs(columns)
                n_block = max(1, min(block_size, GENE_BLOCK_BYTES // (12 * max(1, len(columns)))))
                gene_blocks = [(a, min(a + n_block, store.n_genes)) for a in range(0, store.n_genes, n_block)]

                def block_rows(bounds, columns=columns, runs=runs):
                    a, b = bounds
                    cd, logfc, rank_up = store.read_gene_block(a, b, runs)
                    return top_rows_from_genes(np.arange(a, b), columns, cd, logfc, rank_up, n_genes=store.n_genes, k=k)

                blocks = progress(gene_blocks, desc=f"index {pert_type}") if progress is not None else gene_blocks
                for top in _bounded_map(block_rows, blocks):
                    rows = (
                        (
                            release.pk, int(gene_ids[g]), pert_type, d, int(pk_of_column[s]),
                            float(c), float(f), int(r), bool(tc), bool(tf), bool(tr),
                        )  # fmt: skip
                        for g, d, s, c, f, r, tc, tf, tr in zip(
                            top.gene, top.direction, top.signature, top.cd, top.logfc, top.rank, top.top_cd, top.top_logfc, top.top_rank
                        )
                    )
                    n_rows += copy_rows(GeneTopEntry, ENTRY_COLUMNS, rows)
            params = dict(release.params or {}, top_n=k)
            Release.objects.filter(pk=release.pk).update(index_built=True, params=params)
    release.refresh_from_db()
    return n_rows
