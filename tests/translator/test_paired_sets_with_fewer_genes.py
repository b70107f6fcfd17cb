"""A paired RNA-seq set on another log2 scale and with fewer genes than the model outputs (GEO's GSE92743:
log2 RPKM over about 12,000 genes) is rank-mapped onto the bundle's reference and scored over the genes it has."""

import numpy as np
import pytest
from scipy.stats import pearsonr

from conversion.formats import open_matrix
from conversion.formats.gctx import write_gctx
from conversion.translator.config import configure
from conversion.translator.data import load_training_data
from conversion.translator.evaluate import evaluate_bundle, gene_reliability, load_paired_for_bundle
from conversion.translator.train import train_two_step

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle(tiny_world):
    data = load_training_data(tiny_world["l1000"], tiny_world["archs4"], tiny_world["ncbi_gene_info"], output_entrez_ids=tiny_world["output_entrez_ids"])
    return train_two_step(data, configure("tiny", epochs=2, max_epochs_step2=2), version="t", device="cpu")


def _rpkm_like(tiny_world, tmp_path, drop: set[str]):
    """The paired RNA-seq as log2 RPKM would differ from log2 counts: a monotone per-sample change of scale, some genes gone."""
    with open_matrix(tiny_world["gtex_rnaseq"]) as reader:
        values, rows, cols = reader.read(), list(reader.row_ids), list(reader.col_ids)
    keep = [i for i, r in enumerate(rows) if r not in drop]
    rescaled = 1.7 * values[:, keep] - 3.0 + np.linspace(0, 0.5, len(cols))[:, None]
    return write_gctx(tmp_path / "gse92743_like.gctx", rescaled, [rows[i] for i in keep], cols)


def test_missing_genes_are_not_scored_and_the_others_are_as_scipy_says(bundle, tiny_world, tmp_path):
    landmarks = set(bundle.input_entrez_ids)
    drop = {g for g in bundle.output_entrez_ids[::5] if g not in landmarks}
    path = _rpkm_like(tiny_world, tmp_path, drop)
    _, x, truth = load_paired_for_bundle(bundle, tiny_world["gtex_l1000"], path)
    missing = np.array([g in drop for g in bundle.output_entrez_ids])
    assert np.isnan(truth[:, missing]).all() and not np.isnan(truth[:, ~missing]).any()
    result = evaluate_bundle(bundle, x, truth)
    assert result["summary"]["n_genes_missing"] == len(drop) and result["summary"]["n_genes_evaluated"] == len(bundle.output_entrez_ids) - len(drop)
    reliability = gene_reliability(result, paired_set="gse92743-like")
    assert np.isnan(reliability["pcc"][missing]).all()
    predicted = bundle.predict(x)
    for j in np.flatnonzero(~missing)[:40]:
        assert reliability["pcc"][j] == pytest.approx(pearsonr(predicted[:, j], truth[:, j])[0], abs=1e-4)


def test_a_monotone_change_of_scale_changes_nothing(bundle, tiny_world, tmp_path):
    _, x, counts_scale = load_paired_for_bundle(bundle, tiny_world["gtex_l1000"], tiny_world["gtex_rnaseq"])
    _, _, rpkm_scale = load_paired_for_bundle(bundle, tiny_world["gtex_l1000"], _rpkm_like(tiny_world, tmp_path, set()))
    np.testing.assert_allclose(rpkm_scale, counts_scale, atol=1e-5)


def test_a_paired_set_without_a_landmark_is_refused_naming_it(bundle, tiny_world, tmp_path):
    lost = bundle.input_entrez_ids[3]
    with pytest.raises(ValueError, match=f"missing Entrez ids {lost}"):
        load_paired_for_bundle(bundle, tiny_world["gtex_l1000"], _rpkm_like(tiny_world, tmp_path, {lost}))
