"""In a rank list, signatures that give the gene the same rank are ordered by |CD|, larger first, then by column:
the exact query, the gene-major index kernel and the streaming accumulator agree with a plain sort."""

import numpy as np
import pytest

from search.ranking import rank_signatures
from signatures.topk import TopKAccumulator
from signatures.topk_rows import top_rows_from_genes


def _tied_ranks(n_sigs=400, n_genes=6, seed=0):
    rng = np.random.default_rng(seed)
    cd = rng.normal(size=(n_sigs, n_genes)).astype(np.float32)
    cd /= np.linalg.norm(cd, axis=1, keepdims=True)
    # Few distinct ranks: gene 0 is the most (or least) regulated gene of most signatures.
    rank_up = rng.integers(1, 3, size=cd.shape).astype(np.int32)
    rank_up[cd < 0] = n_genes + 1 - rng.integers(1, 3, size=int((cd < 0).sum()))
    return cd, (cd * 2).astype(np.float32), rank_up


def _plain(cd, rank_up, n_genes, direction, k):
    rows = [(int(r) if direction == "up" else n_genes + 1 - int(r), -abs(float(c)), j) for j, (c, r) in enumerate(zip(cd, rank_up)) if (c > 0 if direction == "up" else c < 0)]
    return [j for *_, j in sorted(rows)[:k]]


@pytest.mark.parametrize("direction", ["up", "down"])
def test_every_path_orders_tied_ranks_by_abs_cd(direction):
    cd, logfc, rank_up = _tied_ranks()
    n_sigs, n_genes = cd.shape
    k, g = 30, 0
    expected = _plain(cd[:, g], rank_up[:, g], n_genes, direction, k)
    by_column = sorted(expected, key=lambda j: (rank_up[j, g] if direction == "up" else -rank_up[j, g], j))
    assert expected != by_column  # the |CD| rule decides something here

    positions, _ = rank_signatures(cd[:, g], logfc[:, g], rank_up[:, g], np.arange(n_sigs), n_genes=n_genes, direction=direction, metric="rank", offset=0, limit=k)
    assert positions.tolist() == expected

    columns = np.arange(n_sigs)
    kernel = top_rows_from_genes(np.arange(n_genes), columns, cd.T, logfc.T, rank_up.T, n_genes=n_genes, k=k)
    acc = TopKAccumulator(n_genes, k=k)
    for a in range(0, n_sigs, 64):
        acc.update(columns[a : a + 64], cd[a : a + 64], logfc[a : a + 64], rank_up[a : a + 64])
    streamed = acc.rows()
    for rows in (kernel, streamed):
        chosen = rows.signature[(rows.gene == g) & (rows.direction == direction) & rows.top_rank]
        assert sorted(chosen.tolist()) == sorted(expected)
