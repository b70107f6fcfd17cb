"""Conversion of the real CMap test plates (cmapPy's fixtures): GCT keyed by probe id, GCTX keyed by Entrez id."""

import numpy as np
import pandas as pd
import torch

from conversion.formats import open_matrix
from conversion.formats.gctx import GctxReader
from conversion.formats.l1000 import landmark_positions
from conversion.translator.bundle import Bundle
from conversion.translator.config import get_config
from conversion.translator.infer import convert_file
from conversion.translator.networks import Extrapolator, Generator
from tests.data.fixtures import fixture_path


def _landmark_bundle() -> Bundle:
    """A tiny-size, random-weight bundle whose inputs are the 978 real landmarks (Entrez ids), in the reference list's order."""
    landmarks = pd.read_csv(fixture_path("landmark_genes_n978.tsv"), sep="\t")
    torch.manual_seed(0)
    config = get_config("tiny").with_genes(978, 30)
    outputs = [str(e) for e in landmarks.pr_gene_id[:30]]
    return Bundle(
        config=config, G=Generator(config.cyclegan).eval(), extrapolator=Extrapolator(config.extrapolator).eval(),
        input_entrez_ids=[str(e) for e in landmarks.pr_gene_id], input_symbols=list(landmarks.pr_gene_symbol),
        output_entrez_ids=outputs, output_symbols=list(landmarks.pr_gene_symbol[:30]),
        quantile_reference=np.linspace(0, 12, 30, dtype=np.float32), version="fixture",
    )


def test_the_real_l1000_gct_plate_converts_with_landmarks_found_through_pr_gene_id(tmp_path):
    bundle = _landmark_bundle()
    src = fixture_path("cmapPy_tests/test_l1000.gct")
    summary = convert_file(bundle, src, tmp_path / "out.gctx", chunk_size=100, device="cpu")
    with open_matrix(src) as reader:
        landmarks = reader.read(rows=landmark_positions(reader.row_meta, bundle.input_entrez_ids))
        col_ids, col_meta = list(reader.col_ids), reader.col_meta
    with GctxReader(tmp_path / "out.gctx") as out:
        assert summary["n_profiles"] == len(col_ids) == len(out.col_ids)
        assert list(out.col_ids) == col_ids
        # HDF5 lists metadata fields alphabetically, so compare them as sets, and one field's values.
        assert set(out.col_meta.columns) == set(col_meta.columns)
        assert list(out.col_meta["det_plate"].astype(str)) == list(col_meta["det_plate"].astype(str))
        np.testing.assert_allclose(out.read(), bundle.predict(landmarks), rtol=1e-5, atol=1e-5)
