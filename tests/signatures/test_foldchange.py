"""log2FC is the treated mean minus the control mean, computed one group at a time by hand."""

import numpy as np

from signatures.foldchange import log2_fold_change_batch


def test_fold_change_against_all_other_profiles_matches_a_direct_difference_of_means():
    rng = np.random.default_rng(0)
    X = rng.normal(6, 2, size=(15, 40)).astype(np.float32)
    groups = [[0, 1, 2], [7], [3, 14]]
    got = log2_fold_change_batch(X, groups)
    for i, g in enumerate(groups):
        rest = [r for r in range(15) if r not in g]
        np.testing.assert_allclose(got[i], X[g].mean(0) - X[rest].mean(0), rtol=0, atol=1e-5)


def test_fold_change_against_vehicle_controls_uses_only_those_rows():
    rng = np.random.default_rng(1)
    X = rng.normal(6, 2, size=(10, 5))
    got = log2_fold_change_batch(X, [[0, 1]], controls=[8, 9])
    np.testing.assert_allclose(got[0], X[[0, 1]].mean(0) - X[[8, 9]].mean(0), rtol=0, atol=1e-5)


def test_a_doubling_is_a_log2_fold_change_of_one():
    X = np.log2(np.array([[2.0, 8.0], [2.0, 8.0], [1.0, 8.0], [1.0, 8.0]]))
    got = log2_fold_change_batch(X, [[0, 1]])
    np.testing.assert_allclose(got[0], [1.0, 0.0], atol=1e-6)
