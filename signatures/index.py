"""The per-gene index: GeneTopEntry rows for every gene, perturbation type and direction.

For each perturbation type we read the gene-major store (gene_major.h5) in
blocks of genes, each gene's row restricted to the type's signature columns,
and signatures.topk_rows.top_rows_from_genes selects the top k by CD, by
log2FC and by the gene's rank inside the signature, for both directions, with
the numba kernel of signatures.topk_kernel (one pass per gene row; compiled
on first use and cached on disk). topk_rows.THREADS threads work on alternate
gene blocks: the kernel runs without the GIL, so one thread selects while
another reads. The union is bulk-loaded with COPY. Memory: one gene block in
flight per thread, each at most ``signatures.topk_rows.GENE_BLOCK_BYTES`` of
values (n_block_genes x the type's signatures x cd, logfc, rank_up) plus the
block's selected rows and the kernel's few MiB of output buffers
(topk_rows' docstring), whatever the number of genes.
"""

from __future__ import annotations

import numpy as np
from django.db import transaction

from l1kweb.bulk import copy_rows
from signatures.models import GeneTopEntry, Release, ReleaseStatus, Signature
from signatures.store import open_store
from signatures.topk_rows import store_top_rows

TOP_N = 100
BLOCK_SIZE = 1024

ENTRY_COLUMNS = ("release_id", "gene_id", "pert_type", "direction", "signature_id", "cd", "logfc", "rank", "top_cd", "top_logfc", "top_rank")


def build_index(release: Release, *, k: int = TOP_N, block_size: int = BLOCK_SIZE, progress=None) -> int:
    """Fill GeneTopEntry for the release (replacing any earlier index); returns the number of rows.

    block_size caps the genes per block (fewer when topk_rows.GENE_BLOCK_BYTES says so).
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
                for top in store_top_rows(store, columns, k=k, block_size=block_size, progress=progress, desc=f"index {pert_type}"):
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
