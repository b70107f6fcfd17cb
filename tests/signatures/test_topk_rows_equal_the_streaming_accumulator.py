"""The gene-major top-k builder returns exactly TopKAccumulator's rows: ties, signed zeros and NaN CDs included."""

import numpy as np
import pytest

from signatures import topk_rows
from signatures.store import ranks_up
from signatures.topk import TopKAccumulator
from signatures.topk_rows import top_rows_from_genes

FIELDS = ("gene", "direction", "signature", "cd", "logfc", "rank", "top_cd", "top_logfc", "top_rank")


def _tied(n_sigs, n_genes, seed, *, nan=True):
    rng = np.random.default_rng(seed)
    cd = np.round(rng.standard_normal((n_sigs, n_genes)) * 2).astype(np.float32)  # integer-valued: ties, -0.0 and 0.0
    cd[rng.random(cd.shape) < 0.1] = -0.0
    logfc = np.round(rng.standard_normal(cd.shape)).astype(np.float32)
    logfc[rng.random(cd.shape) < 0.3] = -0.0
    logfc[rng.random(cd.shape) < 0.2] = 0.0
    cd[:, 3] = 0.0  # a gene constant 0: in no list
    cd[: n_sigs // 2, 5] = 1.0  # a gene with half its signatures tied
    if nan:
        cd[rng.random(cd.shape) < 0.05] = np.nan  # no CD where a gene is constant in a signature
        cd[:, 7] = np.nan  # a gene without any CD: in no list
        logfc[np.isnan(cd) & (rng.random(cd.shape) < 0.5)] = np.nan
    return cd, logfc, ranks_up(cd)


def _continuous(n_sigs, n_genes, seed):
    rng = np.random.default_rng(seed)
    cd = rng.standard_normal((n_sigs, n_genes)).astype(np.float32)
    logfc = (cd * 3 + rng.standard_normal(cd.shape)).astype(np.float32)
    return cd, logfc, ranks_up(cd)


def _accumulated(columns, cd, logfc, rank_up, k, block):
    acc = TopKAccumulator(cd.shape[1], k=k)
    for a in range(0, len(columns), block):
        acc.update(columns[a : a + block], cd[a : a + block], logfc[a : a + block], rank_up[a : a + block])
    return acc.rows()


def _assert_equal(got, expected):
    for field in FIELDS:
        np.testing.assert_array_equal(getattr(got, field), getattr(expected, field), err_msg=field)


@pytest.mark.parametrize("k", [1, 7, 50, 1000])
@pytest.mark.parametrize("subset", ["all", "scattered"])
def test_gene_major_rows_equal_the_accumulator_rows(k, subset):
    n_sigs, n_genes = 900, 12
    cd, logfc, rank_up = _tied(n_sigs, n_genes, seed=k)
    columns = np.arange(n_sigs) if subset == "all" else np.sort(np.random.default_rng(1).choice(n_sigs, 500, replace=False))
    expected = _accumulated(columns, cd[columns], logfc[columns], rank_up[columns], k, 128)
    genes = np.arange(n_genes)
    got = top_rows_from_genes(genes, columns, cd[columns].T, logfc[columns].T, rank_up[columns].T, n_genes=n_genes, k=k)
    _assert_equal(got, expected)
    assert not (got.gene == 3).any()
    assert not (got.gene == 7).any()


@pytest.mark.parametrize("data", ["tied", "continuous"])
@pytest.mark.parametrize(("n_sigs", "k"), [(2333, 20), (4001, 100), (250, 100), (99, 100), (3000, 3)])
def test_rows_equal_with_small_buffers_and_short_rows(monkeypatch, data, n_sigs, k):
    """Rows many times longer than the kernel's buffers (2 k pairs here), rows that fit in them, rows shorter than k."""
    n_genes = 40
    cd, logfc, rank_up = (_tied if data == "tied" else _continuous)(n_sigs, n_genes, seed=n_sigs + k)
    columns = np.arange(n_sigs) * 3 + 1
    expected = _accumulated(columns, cd, logfc, rank_up, k, 512)
    monkeypatch.setattr(topk_rows, "CAPACITY_PER_K", 2)  # buffers of 2 k pairs: more shrinks
    got = top_rows_from_genes(np.arange(n_genes) + 1000, columns, cd.T, logfc.T, rank_up.T, n_genes=n_genes, k=k)
    _assert_equal(got, type(expected)(**{**expected.__dict__, "gene": expected.gene + 1000}))


def test_gene_blocks_concatenate_to_the_whole():
    cd, logfc, rank_up = _tied(300, 10, seed=3)
    columns = np.arange(300)
    whole = top_rows_from_genes(np.arange(10), columns, cd.T, logfc.T, rank_up.T, n_genes=10, k=20)
    parts = [top_rows_from_genes(np.arange(a, b), columns, cd.T[a:b], logfc.T[a:b], rank_up.T[a:b], n_genes=10, k=20) for a, b in ((0, 4), (4, 9), (9, 10))]
    for field in FIELDS:
        np.testing.assert_array_equal(np.concatenate([getattr(p, field) for p in parts]), getattr(whole, field), err_msg=field)


def test_no_columns_give_no_rows():
    empty = np.zeros((4, 0), dtype=np.float32)
    got = top_rows_from_genes(np.arange(4), np.zeros(0, dtype=np.int64), empty, empty, empty.astype(np.int32), n_genes=4, k=5)
    assert len(got) == 0


def test_columns_must_be_ascending():
    cd = np.ones((1, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="ascending"):
        top_rows_from_genes(np.arange(1), np.array([2, 1, 3]), cd, cd, np.ones((1, 3), dtype=np.int32), n_genes=1, k=1)


def test_k_must_be_at_least_one():
    cd = np.ones((1, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="k must be at least 1, found 0"):
        top_rows_from_genes(np.arange(1), np.arange(3), cd, cd, np.ones((1, 3), dtype=np.int32), n_genes=1, k=0)
