import numpy as np
from scipy import stats

from conversion.translator import evaluate as ev

RNG = np.random.default_rng(3)
PRED = RNG.normal(size=(6, 30))
TRUTH = PRED + RNG.normal(scale=0.7, size=(6, 30))


def test_samplewise_pcc_matches_scipy_pearsonr_per_row():
    expected = [stats.pearsonr(p, t).statistic for p, t in zip(PRED, TRUTH)]
    np.testing.assert_allclose(ev.samplewise_pcc(PRED, TRUTH), expected, rtol=1e-10)


def test_samplewise_spearman_matches_scipy_spearmanr_per_row():
    expected = [stats.spearmanr(p, t).statistic for p, t in zip(PRED, TRUTH)]
    np.testing.assert_allclose(ev.samplewise_spearman(PRED, TRUTH), expected, rtol=1e-10)


def test_genewise_metrics_are_the_samplewise_ones_on_columns():
    expected = [stats.pearsonr(p, t).statistic for p, t in zip(PRED.T, TRUTH.T)]
    np.testing.assert_allclose(ev.genewise_pcc(PRED, TRUTH), expected, rtol=1e-10)
    np.testing.assert_allclose(ev.genewise_rmse(PRED, TRUTH), np.sqrt(((PRED - TRUTH) ** 2).mean(axis=0)), rtol=1e-12)


def test_a_constant_prediction_has_zero_genewise_correlation_not_nan():
    constant = np.broadcast_to(TRUTH.mean(axis=0), TRUTH.shape)
    assert (ev.genewise_pcc(constant, TRUTH) == 0).all()


def test_linear_baseline_recovers_an_exact_linear_map():
    x = RNG.normal(size=(200, 5))
    weights, intercept = RNG.normal(size=(5, 8)), RNG.normal(size=8)
    y = x @ weights + intercept
    baselines = ev.fit_baselines(x + 10, x, y)
    # The ridge penalty (1e-3 of the mean diagonal) shrinks the fit slightly: tolerance 1e-2.
    np.testing.assert_allclose(ev.apply_linear(baselines["linear"], x), y, atol=1e-2)


def test_ratio_scale_is_the_ratio_of_training_means():
    x, y = RNG.uniform(1, 2, size=(50, 4)), RNG.uniform(3, 9, size=(70, 4))
    baselines = ev.fit_baselines(x, y, y)
    np.testing.assert_allclose(baselines["ratio_scale"], y.mean(0) / x.mean(0), rtol=1e-6)


def test_random_pairs_never_pair_a_sample_with_itself():
    paired = ev._derangement(50, np.random.default_rng(0))
    assert sorted(paired) == list(range(50))
    assert (paired != np.arange(50)).all()
