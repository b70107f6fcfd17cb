"""Landmarks are selected by Entrez id, in the requested order, and every missing one is named."""

import numpy as np
import pandas as pd
import pytest

from conversion.formats import MissingGenesError, open_matrix
from conversion.formats.l1000 import batch_of_plate, landmark_positions
from tests.data.fixtures import fixture_path


def test_positions_follow_the_requested_order_of_entrez_ids():
    assert list(landmark_positions(np.array(["7416", "5720", "55847"]), [5720, 55847, 7416])) == [1, 2, 0]


def test_missing_landmarks_are_named_by_entrez_id():
    with pytest.raises(MissingGenesError, match=r"expected the 4 landmark genes, found 2: missing Entrez ids 23, 57") as info:
        landmark_positions(np.array(["5720", "7416"]), [5720, 23, 7416, 57], path="plate.gctx")
    assert info.value.missing == [23, 57]


def test_probe_keyed_rows_are_matched_through_pr_gene_id():
    meta = pd.DataFrame({"pr_gene_id": [5720, 55847]}, index=pd.Index(["200814_at", "218597_s_at"], name="id"))
    assert list(landmark_positions(meta, [55847])) == [1]


def test_the_real_plate_holds_all_978_landmarks_of_the_reference_list():
    landmarks = pd.read_csv(fixture_path("landmark_genes_n978.tsv"), sep="\t")
    with open_matrix(fixture_path("cmapPy_tests/test_l1000.gct")) as r:
        pos = landmark_positions(r.row_meta, landmarks.pr_gene_id)
        assert list(r.row_ids[pos]) == list(landmarks.pr_id)


@pytest.mark.parametrize(
    ("plate", "batch"),
    [
        # Plate names as they occur in the GEO and LINCS 2020 releases.
        ("LJP005_A375_24H_X1_B19", "LJP005_A375_24H"),
        ("LJP005_A375_24H_X3_B19", "LJP005_A375_24H"),
        ("DIVR.BASE003_NCIH522_24H_X1.A2_B29", "DIVR.BASE003_NCIH522_24H"),
        ("CPC006_A549_6H_X1_B3_DUO52HI53LO", "CPC006_A549_6H"),
        ("CPC004_PC3_6H_X2", "CPC004_PC3_6H"),
        ("XPR009_U251MG.311_96H_X2_B30", "XPR009_U251MG.311_96H"),
        ("REP.A001_A549_24H_X12_B31", "REP.A001_A549_24H"),
        ("SYN001_A375_24H_X3", "SYN001_A375_24H"),
        ("REP.A001_A375_24H_X3_B22", "REP.A001_A375_24H"),
        ("KDA004_HT29_96H_X1", "KDA004_HT29_96H"),
        # No replicate token: the plate is its own batch; an X inside a word is not one.
        ("PCLB003_PC3_24H", "PCLB003_PC3_24H"),
        ("XPR011_HEK293T_96H", "XPR011_HEK293T_96H"),
        ("ABC_X1Y_6H", "ABC_X1Y_6H"),
    ],
)
def test_batch_is_the_plate_up_to_its_replicate_token(plate, batch):
    assert batch_of_plate(plate) == batch
