"""Without a list, the output genes are the ARCHS4 genes with at least 10 counts in at least 2 % of the
training samples (the paper's rule), recomputed here from the HDF5 counts directly."""

import h5py
import numpy as np
import pytest

from conversion.formats.ncbi import read_gene_map
from conversion.translator.data import load_training_data


def _expected(world, min_count, fraction):
    genes = read_gene_map(world["ncbi_gene_info"])
    with h5py.File(world["archs4"], "r") as f:
        counts = f["data/expression"][:]  # (genes, samples): every sample is a training sample here
        symbols = [s.decode() for s in f["meta/genes/symbol"][:]]
        ensembl = [s.decode() for s in f["meta/genes/ensembl_gene"][:]]
    passing = (counts >= min_count).mean(axis=1) >= fraction
    out, seen = [], set()
    for entrez, ok in zip((genes.entrez(s, e) for s, e in zip(symbols, ensembl)), passing):
        if entrez is not None and entrez not in seen:
            seen.add(entrez)
            if ok:
                out.append(entrez)
    return out


def test_the_default_rule_keeps_the_expressed_genes(tiny_world):
    data = load_training_data(tiny_world["l1000"], tiny_world["archs4"], tiny_world["ncbi_gene_info"])
    expected = _expected(tiny_world, 10, 0.02)
    landmarks = set(data.landmark_entrez_ids)
    assert set(data.output_entrez_ids) == set(expected) | landmarks
    rule = data.description["output_genes"]
    assert rule["min_count"] == 10 and rule["min_sample_fraction"] == 0.02 and rule["n_passing"] == len(expected)
    assert "at least 10 counts in at least 2.0% of the 400 training samples" in rule["rule"]


@pytest.mark.parametrize("min_count, fraction", [(100, 0.5), (1000, 0.1)])
def test_a_stricter_rule_drops_genes_but_never_a_landmark(tiny_world, min_count, fraction):
    data = load_training_data(tiny_world["l1000"], tiny_world["archs4"], tiny_world["ncbi_gene_info"], min_count=min_count, min_sample_fraction=fraction)
    expected = _expected(tiny_world, min_count, fraction)
    landmarks = set(data.landmark_entrez_ids)
    assert 0 < len(set(expected) - landmarks) < len(data.output_entrez_ids) < 600
    assert set(data.output_entrez_ids) == set(expected) | landmarks
    assert data.description["output_genes"]["n_landmarks_below"] == len(landmarks - set(expected))
    assert data.rnaseq.shape == (400, len(data.output_entrez_ids))


def test_a_given_list_is_used_as_it_is(tiny_world):
    data = load_training_data(tiny_world["l1000"], tiny_world["archs4"], tiny_world["ncbi_gene_info"], output_entrez_ids=tiny_world["output_entrez_ids"])
    assert data.output_entrez_ids == [str(e) for e in tiny_world["output_entrez_ids"]]
    assert data.description["output_genes"] == {"rule": "the list given (--output-genes)"}
