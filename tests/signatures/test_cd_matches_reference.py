"""signatures.cd agrees with the per-signature reference chdir to 1e-6 per coefficient."""

import numpy as np
import pytest

from signatures.cd import CDError, characteristic_direction_batch
from signatures.foldchange import log2_fold_change_batch
from tests.signatures.chdir_oracle import chdir_reference

TOLERANCE = 1e-6  # absolute, per coefficient of a unit-length vector


def _oracle(X, treated, controls, gamma=1.0):
    cls = np.zeros(X.shape[0], dtype=int)
    cls[controls] = 1
    cls[treated] = 2
    return chdir_reference(X.T, cls, gamma=gamma)


def _random_batch(seed, n=40, genes=300):
    rng = np.random.default_rng(seed)
    X = rng.normal(8.0, 2.0, size=(n, genes)) + rng.normal(0, 1, size=(1, genes))
    groups = [np.array([0, 1, 2]), np.array([3, 4]), np.array([5]), np.array([10, 20, 30, 39])]
    for g in groups:  # planted effects so that directions are not noise only
        X[np.ix_(g, rng.choice(genes, 10, replace=False))] += 3.0
    return X.astype(np.float32), groups


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_all_other_profiles_as_controls_matches_oracle(seed):
    X, groups = _random_batch(seed)
    got = characteristic_direction_batch(X, groups)
    for i, g in enumerate(groups):
        controls = np.setdiff1d(np.arange(X.shape[0]), g)
        np.testing.assert_allclose(got[i], _oracle(X, g, controls), rtol=0, atol=TOLERANCE)


def test_vehicle_controls_match_oracle():
    X, groups = _random_batch(5)
    controls = np.arange(31, 39)
    got = characteristic_direction_batch(X, groups[:3], controls=controls)
    for i, g in enumerate(groups[:3]):
        np.testing.assert_allclose(got[i], _oracle(X, g, controls), rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize("gamma", [0.5, 0.1])
def test_shrinkage_matches_oracle(gamma):
    X, groups = _random_batch(7)
    got = characteristic_direction_batch(X, groups, gamma=gamma)
    for i, g in enumerate(groups):
        controls = np.setdiff1d(np.arange(X.shape[0]), g)
        np.testing.assert_allclose(got[i], _oracle(X, g, controls, gamma), rtol=0, atol=TOLERANCE)


def test_more_genes_than_samples_and_more_samples_than_genes_both_match():
    rng = np.random.default_rng(3)
    for n, genes in [(12, 2000), (60, 25)]:
        X = rng.normal(size=(n, genes))
        g = np.array([0, 1])
        got = characteristic_direction_batch(X, [g])[0]
        np.testing.assert_allclose(got, _oracle(X, g, np.arange(2, n)), rtol=0, atol=TOLERANCE)


def test_directions_are_unit_length_and_point_to_higher_in_treated():
    X, groups = _random_batch(11)
    rng = np.random.default_rng(0)
    X = rng.normal(size=X.shape).astype(np.float32)
    X[np.ix_(groups[0], [7])] += 6.0
    X[np.ix_(groups[0], [8])] -= 6.0
    got = characteristic_direction_batch(X, groups[:1])[0]
    assert abs(np.linalg.norm(got) - 1) < 1e-6
    assert np.argmax(got) == 7 and np.argmin(got) == 8


def test_group_without_controls_is_refused():
    X = np.random.default_rng(0).normal(size=(4, 10))
    with pytest.raises(CDError, match="at least one control"):
        characteristic_direction_batch(X, [np.arange(4)])


@pytest.mark.parametrize("gamma", [1.0, 0.5])
def test_each_group_against_its_own_controls_matches_the_reference(gamma):
    rng = np.random.default_rng(7)
    n, n_genes = 30, 200
    X = rng.normal(8, 2, size=(n, n_genes))
    groups = [np.array([0, 1, 2]), np.array([3, 4, 5]), np.array([6, 7]), np.array([8, 9, 10])]
    # Groups 0 and 1 are one compound at two doses (never each other's controls); group 2 uses every other row.
    excluded = [np.arange(0, 6), np.arange(0, 6), np.array([6, 7]), np.array([8, 9, 10, 11])]
    own = [np.setdiff1d(np.arange(n), e) for e in excluded]
    cd = characteristic_direction_batch(X, groups, group_controls=own, gamma=gamma)
    log2fc = log2_fold_change_batch(X, groups, group_controls=own)
    for i, (g, c) in enumerate(zip(groups, own)):
        cls = np.zeros(n, dtype=int)
        cls[c] = 1
        cls[g] = 2
        np.testing.assert_allclose(cd[i], chdir_reference(X.T, cls, gamma=gamma), atol=1e-6)
        np.testing.assert_allclose(log2fc[i], X[g].mean(axis=0) - X[c].mean(axis=0), atol=1e-5)


def test_per_group_controls_must_not_overlap_the_group_or_be_empty():
    X = np.random.default_rng(0).normal(size=(10, 20))
    with pytest.raises(CDError, match="shares rows with the controls"):
        characteristic_direction_batch(X, [[0, 1]], group_controls=[[1, 2, 3]])
    with pytest.raises(CDError, match="has no controls"):
        characteristic_direction_batch(X, [[0, 1]], group_controls=[[]])
    with pytest.raises(CDError, match="one control set per group"):
        characteristic_direction_batch(X, [[0, 1], [2]], group_controls=[[3, 4]])
