"""A signature without a CD for a gene (NaN: the gene is constant there) is in none of the gene's six lists."""

import numpy as np

from signatures.store import ranks_up
from signatures.topk import TopKAccumulator
from signatures.topk_rows import top_rows_from_genes


def _with_nans(seed=0, n_sigs=600, n_genes=9):
    rng = np.random.default_rng(seed)
    cd = rng.standard_normal((n_sigs, n_genes)).astype(np.float32)
    logfc = (cd * 10).astype(np.float32)
    nan = rng.random(cd.shape) < 0.3
    # NaN CDs where the best values would be: large positive and negative CDs,
    # the largest and smallest log2FC and ranks; half of them with a NaN log2FC too.
    nan |= np.abs(cd) > 2.0
    cd[nan] = np.nan
    logfc[nan & (rng.random(cd.shape) < 0.5)] = np.nan
    logfc[nan & (rng.random(cd.shape) < 0.3)] = 1e6  # a huge log2FC where the CD is missing: still no list
    return cd, logfc, ranks_up(cd), nan


def test_nan_cds_enter_no_list_of_either_builder():
    cd, logfc, rank_up, nan = _with_nans()
    n_sigs, n_genes = cd.shape
    acc = TopKAccumulator(n_genes, k=40)
    for a in range(0, n_sigs, 128):
        acc.update(np.arange(a, min(a + 128, n_sigs)), cd[a : a + 128], logfc[a : a + 128], rank_up[a : a + 128])
    streamed = acc.rows()
    gene_major = top_rows_from_genes(np.arange(n_genes), np.arange(n_sigs), cd.T, logfc.T, rank_up.T, n_genes=n_genes, k=40)
    for rows in (streamed, gene_major):
        assert len(rows) > 0
        assert not nan[rows.signature, rows.gene].any()
        assert not np.isnan(rows.cd).any() and not np.isnan(rows.logfc).any()
        assert ((rows.cd > 0) == (rows.direction == "up")).all()
        assert ((rows.cd < 0) == (rows.direction == "down")).all()
    for field in ("gene", "direction", "signature", "cd", "logfc", "rank", "top_cd", "top_logfc", "top_rank"):
        np.testing.assert_array_equal(getattr(gene_major, field), getattr(streamed, field), err_msg=field)


def test_every_list_is_full_when_enough_signatures_have_a_cd():
    """NaNs leave fewer eligible signatures, never a shorter list while k eligible ones remain."""
    cd, logfc, rank_up, nan = _with_nans(seed=1)
    n_sigs, n_genes = cd.shape
    k = 40
    rows = top_rows_from_genes(np.arange(n_genes), np.arange(n_sigs), cd.T, logfc.T, rank_up.T, n_genes=n_genes, k=k)
    for gene in range(n_genes):
        for direction, eligible in (("up", cd[:, gene] > 0), ("down", cd[:, gene] < 0)):
            mine = (rows.gene == gene) & (rows.direction == direction)
            for flag in (rows.top_cd, rows.top_logfc, rows.top_rank):
                assert (mine & flag).sum() == min(k, eligible.sum()), (gene, direction)
