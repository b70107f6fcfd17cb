"""The per-gene index: GeneTopEntry rows for every gene, perturbation type and direction.

For each perturbation type the release's signatures are one contiguous column
range of the stores (signatures.compute orders them so). We stream that range
in signature blocks from the signature-major GCTX, feed a
signatures.topk.TopKAccumulator (the top k by CD, by log2FC and by the gene's
rank inside the signature, for every gene and direction), and bulk-load the
union with COPY. Memory: the accumulator's O(n_genes x k) state plus one block
(``block_size`` x n_genes), whatever the number of signatures.
"""

from __future__ import annotations

import numpy as np
import torch
from django.db import transaction

from conversion.translator.device import resolve_device
from l1kweb.bulk import copy_rows
from signatures.models import GeneTopEntry, Release, ReleaseStatus, Signature
from signatures.store import open_store, ranks_up
from signatures.topk import TopKAccumulator

TOP_N = 100
BLOCK_SIZE = 1024

ENTRY_COLUMNS = ("release_id", "gene_id", "pert_type", "direction", "signature_id", "cd", "logfc", "rank", "top_cd", "top_logfc", "top_rank")


def _runs(columns: np.ndarray) -> list[tuple[int, int]]:
    """Sorted columns -> contiguous [start, stop) runs."""
    if len(columns) == 0:
        return []
    breaks = np.flatnonzero(np.diff(columns) != 1) + 1
    starts = np.concatenate([[0], breaks])
    stops = np.concatenate([breaks, [len(columns)]])
    return [(int(columns[a]), int(columns[b - 1]) + 1) for a, b in zip(starts, stops)]


def build_index(release: Release, *, k: int = TOP_N, block_size: int = BLOCK_SIZE, device: str = "auto", progress=None) -> int:
    """Fill GeneTopEntry for the release (replacing any earlier index); returns the number of rows."""
    if release.status != ReleaseStatus.COMPLETE:
        raise ValueError(f"Release {release.name} is {release.status}; its signatures must be complete before the index is built.")
    dev = resolve_device(device)
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
                acc = TopKAccumulator(store.n_genes, k=k, device=dev)
                blocks = [(a, min(a + block_size, stop)) for start, stop in _runs(columns) for a in range(start, stop, block_size)]
                for a, b in progress(blocks, desc=f"index {pert_type}") if progress is not None else blocks:
                    cd, logfc = store.read_signature_block(a, b)  # (b - a, n_genes) each
                    acc.update(np.arange(a, b), cd, logfc, ranks_up(cd))
                top = acc.rows()
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
