"""Mechanism enrichment equals an independent hypergeometric computation (scipy's Fisher test, exact sums)."""

from fractions import Fraction
from math import comb

import numpy as np
import pytest
from scipy.stats import false_discovery_control, fisher_exact

from search.enrichment import Background, benjamini_hochberg, enrichment, split_terms


def _exact_tail(k, n_background, carriers, n_listed):
    """P(X >= k) for X ~ Hypergeometric by summing the probability mass exactly."""
    total = comb(n_background, n_listed)
    return float(sum(Fraction(comb(carriers, x) * comb(n_background - carriers, n_listed - x), total) for x in range(k, min(carriers, n_listed) + 1)))


def _world(seed):
    rng = np.random.default_rng(seed)
    terms = ["MEK inhibitor", "RAF inhibitor", "HSP inhibitor", "CDK inhibitor", "tubulin inhibitor", "HDAC inhibitor"]
    annotations = {}
    for i in range(120):
        picked = {t for t in terms if rng.random() < 0.15}
        annotations[f"BRD-{i:04d}"] = frozenset(picked)  # some empty: unannotated compounds
    mek = [p for p, t in annotations.items() if "MEK inhibitor" in t]
    others = [p for p in annotations if p not in mek]
    listed = mek[:10] + list(rng.choice(others, size=10, replace=False))
    rng.shuffle(listed)
    return annotations, listed


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("prepared", [False, True], ids=["mapping", "background"])
def test_p_values_and_fdr_equal_independent_computations(seed, prepared):
    annotations, listed = _world(seed)
    rows = enrichment(listed, Background.of(annotations) if prepared else annotations)
    assert rows, "the list carries annotated compounds"
    n_background, n_listed = len(annotations), len(listed)
    by_term = {r.term: r for r in rows}
    for term, row in by_term.items():
        k = sum(term in annotations[p] for p in listed)
        carriers = sum(term in t for t in annotations.values())
        table = [[k, n_listed - k], [carriers - k, n_background - n_listed - (carriers - k)]]
        assert (row.listed, row.n_listed, row.background, row.n_background) == (k, n_listed, carriers, n_background)
        assert row.p_value == pytest.approx(fisher_exact(table, alternative="greater").pvalue, rel=1e-9, abs=1e-15)
        assert row.p_value == pytest.approx(_exact_tail(k, n_background, carriers, n_listed), rel=1e-9, abs=1e-15)
        assert list(row.perturbagens) == [p for p in listed if term in annotations[p]]
    terms = sorted(by_term)
    expected_fdr = false_discovery_control([by_term[t].p_value for t in terms], method="bh")
    assert [by_term[t].fdr for t in terms] == pytest.approx(list(expected_fdr), rel=1e-12)
    assert [r.p_value for r in rows] == sorted(r.p_value for r in rows)


def test_a_planted_mechanism_comes_first_and_is_called_enriched():
    annotations, listed = _world(0)
    rows = enrichment(listed, annotations)
    assert rows[0].term == "MEK inhibitor"
    assert rows[0].enriched and rows[0].fold > 2


def test_repeats_count_once_and_unannotated_listed_ids_join_the_background():
    annotations = {"a": frozenset({"X"}), "b": frozenset({"X"}), "c": frozenset(), "d": frozenset({"Y"})}
    background = Background.of(annotations)
    assert background.carriers == {"X": 2, "Y": 1}
    for given in (annotations, background):
        rows = enrichment(["a", "a", "b", "new"], given)
        x = next(r for r in rows if r.term == "X")
        assert (x.listed, x.n_listed, x.background, x.n_background) == (2, 3, 2, 5)
    assert "new" not in background.annotations, "a listed id joins this list's background only"
    assert all(r.term != "Y" for r in rows), "a term no listed compound carries is not tested"


def test_nothing_to_test():
    assert enrichment([], {"a": frozenset({"X"})}) == []
    assert enrichment(["a"], {"a": frozenset()}) == []


def test_benjamini_hochberg_matches_scipy_on_random_p_values():
    rng = np.random.default_rng(3)
    p = rng.random(200) ** 3
    assert benjamini_hochberg(p) == pytest.approx(false_discovery_control(p, method="bh"), rel=1e-12)
    assert len(benjamini_hochberg([])) == 0


def test_split_terms():
    assert split_terms("MEK inhibitor| RAF inhibitor|") == {"MEK inhibitor", "RAF inhibitor"}
    assert split_terms(None) == frozenset() == split_terms("")
