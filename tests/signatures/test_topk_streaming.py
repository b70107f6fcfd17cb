"""Streaming top-k over signature blocks equals a brute-force sort of the whole matrix."""

import numpy as np
import pytest

from signatures.store import ranks_up
from signatures.topk import TopKAccumulator


def _matrices(n_sigs=230, n_genes=40, seed=0):
    rng = np.random.default_rng(seed)
    cd = rng.standard_normal((n_sigs, n_genes)).astype(np.float32)
    cd /= np.linalg.norm(cd, axis=1, keepdims=True)
    logfc = (cd * 3 + rng.normal(0, 0.5, cd.shape)).astype(np.float32)  # mostly concordant, some discordant
    return cd, logfc, ranks_up(cd)


def _stream(cd, logfc, rank_up, k, block):
    acc = TopKAccumulator(cd.shape[1], k=k)
    for start in range(0, cd.shape[0], block):
        stop = min(start + block, cd.shape[0])
        acc.update(np.arange(start, stop), cd[start:stop], logfc[start:stop], rank_up[start:stop])
    return acc.rows()


def _reference_keys(cd, logfc, rank_up, gene, direction, metric, k):
    """Brute force: the k best keys of one list (keys, not signatures, so that ties do not matter)."""
    n_genes = cd.shape[1]
    c, f = cd[:, gene], logfc[:, gene]
    r = rank_up[:, gene] if direction == "up" else n_genes + 1 - rank_up[:, gene]
    sign = 1 if direction == "up" else -1
    if metric == "cd":
        keys = (sign * c)[sign * c > 0]
    elif metric == "logfc":
        keys = (sign * f)[sign * c > 0]  # direction = sign of CD; discordant log2FC still ranks
    else:
        keys = -r[sign * c > 0].astype(float)
    return np.sort(keys)[::-1][:k]


@pytest.mark.parametrize("block", [17, 64, 1000])
def test_streamed_lists_hold_the_k_best_signatures_of_each_metric(block):
    cd, logfc, rank_up = _matrices()
    k = 10
    rows = _stream(cd, logfc, rank_up, k, block)
    n_genes = cd.shape[1]
    for gene in range(0, n_genes, 7):
        for direction in ("up", "down"):
            sel = (rows.gene == gene) & (rows.direction == direction)
            sign = 1 if direction == "up" else -1
            for metric, flag in (("cd", rows.top_cd), ("logfc", rows.top_logfc), ("rank", rows.top_rank)):
                chosen = sel & flag
                if metric == "cd":
                    keys = sign * rows.cd[chosen]
                elif metric == "logfc":
                    keys = sign * rows.logfc[chosen]
                else:
                    keys = -rows.rank[chosen].astype(float)
                np.testing.assert_allclose(np.sort(keys)[::-1], _reference_keys(cd, logfc, rank_up, gene, direction, metric, k), rtol=0, atol=0)


def test_every_row_carries_the_true_values_of_its_signature():
    cd, logfc, rank_up = _matrices(seed=1)
    rows = _stream(cd, logfc, rank_up, 8, 50)
    n_genes = cd.shape[1]
    np.testing.assert_array_equal(rows.cd, cd[rows.signature, rows.gene])
    np.testing.assert_array_equal(rows.logfc, logfc[rows.signature, rows.gene])
    expected_rank = np.where(rows.direction == "up", rank_up[rows.signature, rows.gene], n_genes + 1 - rank_up[rows.signature, rows.gene])
    np.testing.assert_array_equal(rows.rank, expected_rank)
    # The union has no duplicate (gene, direction, signature) and every row made at least one list.
    keys = set(zip(rows.gene.tolist(), rows.direction.tolist(), rows.signature.tolist()))
    assert len(keys) == len(rows)
    assert (rows.top_cd | rows.top_logfc | rows.top_rank).all()
    # Up rows by CD have positive CD; down rows by CD negative.
    assert (rows.cd[rows.top_cd & (rows.direction == "up")] > 0).all()
    assert (rows.cd[rows.top_cd & (rows.direction == "down")] < 0).all()


def test_fewer_signatures_than_k_keeps_every_signature_of_the_right_sign():
    cd, logfc, rank_up = _matrices(n_sigs=5, n_genes=6, seed=2)
    rows = _stream(cd, logfc, rank_up, 100, 2)
    for gene in range(6):
        up_cd = rows.signature[(rows.gene == gene) & (rows.direction == "up") & rows.top_cd]
        assert sorted(up_cd.tolist()) == np.flatnonzero(cd[:, gene] > 0).tolist()


def test_the_direction_of_every_list_is_the_sign_of_cd():
    cd, logfc, rank_up = _matrices(seed=3)
    rows = _stream(cd, logfc, rank_up, 10, 64)
    assert (rows.cd[rows.direction == "up"] > 0).all()
    assert (rows.cd[rows.direction == "down"] < 0).all()
    discordant = np.sign(rows.cd) != np.sign(rows.logfc)
    assert discordant.any()  # discordant signatures are kept and flagged by the search
