"""Every GCTX and GCT in ../shared/fixtures reads with the right ids, orientation and metadata."""

import numpy as np
import pytest

from conversion.formats import open_matrix
from conversion.formats.gct import read_gct
from conversion.formats.gctx import GctxReader
from tests.data.fixtures import fixture_path


def test_real_l1000_plate_gct_has_978_landmarks_by_377_wells_on_a_log2_scale():
    with open_matrix(fixture_path("cmapPy_tests/test_l1000.gct")) as r:
        assert r.shape == (377, 978)  # (samples, genes)
        assert r.row_ids[0] == "200814_at" and r.col_ids[0] == "LJP005_A375_24H_X1_B19:A03"
        assert r.row_meta.loc["200814_at", "pr_gene_id"] == 5720
        assert r.row_meta.loc["200814_at", "pr_gene_symbol"] == "PSME1"
        meta = r.col_meta
        assert meta["pert_type"].value_counts().to_dict() == {"trt_cp": 328, "ctl_vehicle": 26, "trt_poscon": 23}
        assert set(meta["rna_plate"]) == {"LJP005_A375_24H_X1"}
        assert meta["pert_dose"].isna().sum() >= 26  # DMSO wells carry -666
        m = r.read()
    assert 3.0 < m.min() and m.max() < 15.5
    assert m[0, 0] == pytest.approx(11.3819, abs=1e-4)  # first data line, first value, as printed in the file
    assert m[3, 0] == pytest.approx(11.3117, abs=1e-4)  # fourth well of the same gene: columns are samples


def test_real_gct_and_gctx_of_the_same_plate_agree_on_ids_and_orientation():
    with GctxReader(fixture_path("cmapPy_tests/test_l1000_highprecision.gctx")) as x, open_matrix(
        fixture_path("cmapPy_tests/test_l1000.gct")
    ) as t:
        assert x.shape == t.shape == (377, 978)
        assert list(x.row_ids) == list(t.row_ids)
        assert list(x.col_ids) == list(t.col_ids)
        assert list(x.col_meta["rna_well"]) == list(t.col_meta["rna_well"])
        assert (x.row_meta["pr_gene_id"].to_numpy() == t.row_meta["pr_gene_id"].to_numpy()).all()


def test_int64_row_ids_are_read_as_entrez_id_strings():
    with GctxReader(fixture_path("cmapPy_tests/test_parse_gctx_rid_entrez_id.gctx")) as r:
        assert list(r.row_ids[:2]) == ["5720", "55847"]
        assert r.shape == (5, 5)
        assert r.read(cols=[0], rows=[0])[0, 0] == 1431.0
        assert r.read(cols=[3], rows=[0])[0, 0] == 1095.0  # selections address (sample, gene) positions


def test_float64_gctx_is_read_as_float32():
    with GctxReader(fixture_path("cmapPy_tests/mini_gctoo_for_testing.gctx")) as r:
        block = r.read()
        assert block.dtype == np.float32 and block.shape == (6, 6)
        assert r.col_meta["mfc_plate_id"].isna().all()  # stored as the string "-666"


def test_level5_gctx_from_cmapr_reads_with_int32_metadata_and_text_doses():
    with GctxReader(fixture_path("cmapR_extdata/modzs_n25x50.gctx")) as r:
        assert r.shape == (25, 50)
        assert r.col_meta["pert_idose"].iloc[0] == "10 <b5>M"  # cmapR wrote the micro sign out as text
        assert r.col_meta["distil_nsample"].iloc[0] == 5
        assert r.row_meta["pr_gene_symbol"].iloc[0] == "PSME1"


def test_gct_whose_header_miscounts_metadata_lines_still_matches_its_gctx_twin():
    with pytest.warns(UserWarning, match="declares 15 column-metadata lines, found 1"):
        matrix, row_ids, col_ids, row_meta, col_meta = read_gct(fixture_path("cmapR_extdata/modzs_n25x50.gct"))
    with GctxReader(fixture_path("cmapR_extdata/modzs_n25x50.gctx")) as x:
        assert list(row_ids) == list(x.row_ids) and list(col_ids) == list(x.col_ids)
        np.testing.assert_allclose(matrix, x.read(), atol=0.006)  # the GCT prints two decimals
    assert list(col_meta.columns) == ["brew_prefix"]
