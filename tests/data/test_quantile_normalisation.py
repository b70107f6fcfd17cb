"""log2(count + 1) and quantile normalisation, checked against a straightforward per-value reference."""

import numpy as np
import pytest

from conversion.normalize import QuantileReference, log2p1


def _reference_quantile_normalise(matrix, ref_sorted):
    """The textbook algorithm, one sample and one tie group at a time (slow, obviously right)."""
    out = np.empty(matrix.shape, dtype=np.float64)
    for i, row in enumerate(matrix):
        order = sorted(range(len(row)), key=lambda j: row[j])
        k = 0
        while k < len(order):
            end = k
            while end + 1 < len(order) and row[order[end + 1]] == row[order[k]]:
                end += 1
            value = sum(ref_sorted[k : end + 1]) / (end + 1 - k)
            for pos in order[k : end + 1]:
                out[i, pos] = value
            k = end + 1
    return out


def test_fit_is_the_mean_of_the_sorted_samples():
    rng = np.random.default_rng(0)
    m = rng.normal(size=(13, 40))
    ref = QuantileReference.fit(m, chunk_size=4)  # chunking must not change the result
    np.testing.assert_allclose(ref.values, np.sort(m, axis=1).mean(axis=0), rtol=1e-12)


def test_transform_matches_the_straightforward_algorithm_including_ties():
    rng = np.random.default_rng(1)
    counts = rng.poisson(3.0, size=(9, 30))  # many ties, zeros included
    x = log2p1(counts)
    ref = QuantileReference.fit(log2p1(rng.poisson(20.0, size=(50, 30))))
    expected = _reference_quantile_normalise(x, ref.values)
    np.testing.assert_allclose(ref.transform(x), expected, rtol=1e-5, atol=1e-5)  # float32 output


def test_every_normalised_sample_has_the_reference_distribution_when_there_are_no_ties():
    rng = np.random.default_rng(2)
    ref = QuantileReference(rng.normal(5, 2, size=100))
    out = ref.transform(rng.normal(size=(4, 100)))
    np.testing.assert_allclose(np.sort(out, axis=1), np.broadcast_to(ref.values, (4, 100)), rtol=1e-6)


def test_a_saved_reference_rebuilds_the_same_mapping(tmp_path):
    rng = np.random.default_rng(3)
    ref = QuantileReference.fit(rng.normal(size=(20, 25)))
    np.save(tmp_path / "ref.npy", ref.values)
    again = QuantileReference(np.load(tmp_path / "ref.npy"))
    x = rng.normal(size=(3, 25))
    np.testing.assert_array_equal(again.transform(x), ref.transform(x))


def test_log2p1_is_log2_of_counts_plus_one_and_rejects_negatives():
    np.testing.assert_allclose(log2p1(np.array([[0, 1, 3, 1023]])), [[0.0, 1.0, 2.0, 10.0]])
    with pytest.raises(ValueError, match="non-negative counts"):
        log2p1(np.array([[1, -2]]))


def test_transform_rejects_a_matrix_with_the_wrong_number_of_genes():
    ref = QuantileReference(np.arange(5.0))
    with pytest.raises(ValueError, match=r"expects \(samples, 5\).*found shape \(2, 4\)"):
        ref.transform(np.zeros((2, 4)))
