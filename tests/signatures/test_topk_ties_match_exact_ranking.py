"""Tied values (integer ranks, log2FC clipped to 0) enter the top lists, streamed or gene-major, in the order the exact query uses."""

import numpy as np
import pytest

from search.ranking import rank_signatures
from signatures.store import ranks_up
from signatures.topk import TopKAccumulator
from signatures.topk_rows import top_rows_from_genes

K = 20


def _tied_matrices(n_sigs=3000, n_genes=50, seed=4):
    rng = np.random.default_rng(seed)
    cd = rng.standard_normal((n_sigs, n_genes)).astype(np.float32)
    logfc = np.round(cd * 2).astype(np.float32)  # few distinct values: ties everywhere
    logfc[rng.random(logfc.shape) < 0.3] = 0.0
    return cd, logfc, ranks_up(cd)


def _streamed(cd, logfc, rank_up):
    n_sigs, n_genes = cd.shape
    acc = TopKAccumulator(n_genes, k=K)
    for start in range(0, n_sigs, 257):
        stop = min(start + 257, n_sigs)
        acc.update(np.arange(start, stop), cd[start:stop], logfc[start:stop], rank_up[start:stop])
    return acc.rows()


def _gene_major(cd, logfc, rank_up):
    n_sigs, n_genes = cd.shape
    return top_rows_from_genes(np.arange(n_genes), np.arange(n_sigs), cd.T, logfc.T, rank_up.T, n_genes=n_genes, k=K)


@pytest.mark.parametrize("build", [_streamed, _gene_major], ids=["streamed", "gene-major"])
@pytest.mark.parametrize("metric", ["cd", "logfc", "rank"])
@pytest.mark.parametrize("direction", ["up", "down"])
def test_index_lists_equal_the_exact_ranking_including_ties(build, metric, direction):
    cd, logfc, rank_up = _tied_matrices()
    n_sigs, n_genes = cd.shape
    rows = build(cd, logfc, rank_up)
    flag = {"cd": rows.top_cd, "logfc": rows.top_logfc, "rank": rows.top_rank}[metric]
    for gene in range(n_genes):
        chosen = rows.signature[(rows.gene == gene) & (rows.direction == direction) & flag]
        exact, _ = rank_signatures(
            cd[:, gene], logfc[:, gene], rank_up[:, gene], np.arange(n_sigs),
            n_genes=n_genes, direction=direction, metric=metric, offset=0, limit=K,
        )
        assert sorted(chosen.tolist()) == sorted(exact.tolist()), (gene, metric, direction)
