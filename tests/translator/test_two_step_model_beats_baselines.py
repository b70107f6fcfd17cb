"""The paper's Fig. 3 comparisons on the tiny synthetic world's GTEx-style paired set.

Size `tiny`: generators 100-128-128-32 [residual] back to 100, extrapolator
100-256-256-256-600, 60 CycleGAN epochs and up to 200 extrapolator epochs on
414 L1000 and 400 ARCHS4 profiles; about 7 s on two quiet CPU cores. Evaluated on
the 120 held-out paired samples.
"""

import numpy as np
import pytest

from conversion.translator.config import get_config
from conversion.translator.data import load_training_data
from conversion.translator.evaluate import evaluate_bundle, load_paired_for_bundle
from conversion.translator.train import train_two_step

# One xdist group, so that one process trains the module's model instead of each.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("two-step-model")]


@pytest.fixture(scope="module")
def result(tiny_world):
    data = load_training_data(
        tiny_world["l1000"], tiny_world["archs4"], tiny_world["ncbi_gene_info"], output_entrez_ids=tiny_world["output_entrez_ids"]
    )
    bundle = train_two_step(data, get_config("tiny"), version="test", device="cpu")
    _, l1000, truth = load_paired_for_bundle(bundle, tiny_world["gtex_l1000"], tiny_world["gtex_rnaseq"], rnaseq_values="log2")
    return evaluate_bundle(bundle, l1000, truth, seed=0)


def _median(result, level, method, metric):
    return result["summary"][level][method][metric]["median"]


def test_step1_beats_ratio_scaling_on_samplewise_pcc(result):
    assert _median(result, "landmarks", "model (G)", "sample_pcc") > _median(result, "landmarks", "ratio scaling", "sample_pcc") + 0.01


@pytest.mark.parametrize("baseline", ["linear regression", "training mean"])
@pytest.mark.parametrize("metric", ["sample_pcc", "gene_pcc"])
def test_two_step_model_beats_the_baseline(result, baseline, metric):
    assert _median(result, "all_genes", "two-step model", metric) > _median(result, "all_genes", baseline, metric)


def test_the_model_beats_linear_regression_on_most_genes(result):
    assert result["summary"]["share_of_genes_model_beats"]["linear regression"] > 0.5


def test_randomly_paired_profiles_score_below_the_model(result):
    # Random pairs keep the gene means, so their sample PCC is far from 0; the model must do better.
    assert _median(result, "all_genes", "random pairs", "sample_pcc") < _median(result, "all_genes", "two-step model", "sample_pcc")
    assert np.isfinite(result["per_sample"]["all_genes"]["two-step model"]["rmse"]).all()
