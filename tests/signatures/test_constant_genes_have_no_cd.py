"""A gene with no variance among a signature's samples gets no CD and no rank, and never enters a top list.

The reference chdir gives such a gene a coefficient that comes only from the
z-scoring of each sample (the other genes shift it); signatures.cd leaves it
NaN and keeps every other coefficient equal to the reference's.
"""

import numpy as np

from signatures.cd import characteristic_direction_batch
from signatures.store import ranks_up
from signatures.topk import TopKAccumulator
from tests.signatures.chdir_oracle import chdir_reference

TOLERANCE = 1e-6


def _oracle(X, treated, controls):
    cls = np.zeros(X.shape[0], dtype=int)
    cls[controls] = 1
    cls[treated] = 2
    return chdir_reference(X.T, cls)


def _batch(seed=0, n=24, genes=120):
    rng = np.random.default_rng(seed)
    X = rng.normal(6.0, 1.5, size=(n, genes))
    X[:, 7] = 0.0  # clipped to 0 in every profile of the batch
    X[:, 8] = 3.25  # constant at another value
    return X.astype(np.float32)


def test_a_gene_constant_in_the_whole_batch_is_nan_and_the_rest_is_the_reference():
    X = _batch()
    groups = [np.array([0, 1]), np.array([2, 3, 4])]
    got = characteristic_direction_batch(X, groups)
    for i, g in enumerate(groups):
        assert np.isnan(got[i, [7, 8]]).all()
        expected = _oracle(X, g, np.setdiff1d(np.arange(len(X)), g))
        assert abs(expected[7]) > 1e-4  # the reference does give the constant gene a coefficient
        keep = np.setdiff1d(np.arange(X.shape[1]), [7, 8])
        np.testing.assert_allclose(got[i, keep], expected[keep], rtol=0, atol=TOLERANCE)


def test_constant_only_among_one_signatures_samples():
    X = _batch(1)
    X[:, 20] = np.linspace(0, 1, len(X))
    vehicles = np.arange(16, 24)
    X[np.r_[0, 1, vehicles], 20] = 0.0  # constant over group 0 and the vehicles, varies elsewhere
    got = characteristic_direction_batch(X, [np.array([0, 1]), np.array([2, 3])], controls=vehicles)
    assert np.isnan(got[0, 20]) and np.isfinite(got[1, 20])
    own = [np.setdiff1d(np.arange(16), [0, 1]), np.arange(4, 24)]
    X[np.arange(16), 21] = 5.0  # constant over group 0 and its own controls, not over group 1's
    got = characteristic_direction_batch(X, [np.array([0, 1]), np.array([2, 3])], group_controls=own)
    assert np.isnan(got[0, 21]) and np.isfinite(got[1, 21])
    expected = _oracle(X, np.array([2, 3]), own[1])
    varies = np.isfinite(got[1])
    assert varies.sum() == X.shape[1] - 2  # the two genes constant in the whole batch
    np.testing.assert_allclose(got[1, varies], expected[varies], rtol=0, atol=TOLERANCE)


def test_a_gene_without_cd_has_no_rank_and_the_others_rank_as_without_it():
    cd = np.array([[0.5, np.nan, -0.2, 0.1, np.nan, -0.7]], dtype=np.float32)
    ranks = ranks_up(cd)[0]
    assert ranks[1] == 0 and ranks[4] == 0
    n = cd.shape[1]
    # Up ranks count only larger coefficients, down ranks only smaller ones.
    assert (ranks[0], ranks[3]) == (1, 2)
    assert (n + 1 - ranks[5], n + 1 - ranks[2]) == (1, 2)


def test_a_gene_without_cd_never_enters_a_top_list():
    rng = np.random.default_rng(3)
    n_sigs, n_genes = 60, 12
    cd = rng.normal(size=(n_sigs, n_genes)).astype(np.float32)
    cd[:, 5] = np.nan
    cd[::2, 6] = np.nan
    logfc = rng.normal(size=cd.shape).astype(np.float32)
    acc = TopKAccumulator(n_genes, k=10)
    acc.update(np.arange(n_sigs), cd, logfc, ranks_up(cd))
    rows = acc.rows()
    assert not (rows.gene == 5).any()
    assert np.isfinite(rows.cd).all()
    assert set(rows.signature[rows.gene == 6].tolist()) <= set(range(1, n_sigs, 2))
