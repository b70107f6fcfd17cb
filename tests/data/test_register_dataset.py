"""register_dataset writes the normalised metadata table in matrix column order, or nothing at all."""

import pandas as pd
import pytest

from conversion.datasets import load_metadata, register_dataset
from conversion.formats import FormatError, open_matrix
from conversion.formats.l1000 import PROFILE_COLUMNS, read_inst_info
from conversion.models import Dataset, DatasetKind
from tests.data.fixtures import fixture_path

pytestmark = pytest.mark.django_db


def test_shuffled_inst_info_is_stored_in_matrix_column_order(tiny_world, data_dir):
    inst = read_inst_info(tiny_world["inst_info"]).sample(frac=1.0, random_state=0)
    ds = register_dataset("tiny-l1000", tiny_world["l1000"], kind=DatasetKind.L1000, metadata=inst)
    meta = load_metadata(ds)
    with open_matrix(tiny_world["l1000"]) as r:
        assert list(meta.inst_id) == list(r.col_ids)
        assert (ds.n_profiles, ds.n_genes) == r.shape
    assert list(meta.columns) == PROFILE_COLUMNS
    assert meta.loc[meta.pert_type == "ctl_vehicle", "pert_dose"].isna().all()
    assert meta.loc[meta.pert_type == "trt_cp", "pert_dose"].notna().all()
    assert ds.metadata_file.parent.parent == data_dir


def test_phase2_style_embedded_metadata_is_normalised(data_dir):
    ds = register_dataset("lj-plate", fixture_path("cmapPy_tests/test_l1000_highprecision.gctx"), kind=DatasetKind.L1000, metadata=None)
    meta = load_metadata(ds)
    assert len(meta) == 377
    assert meta.inst_id.iloc[0] == "LJP005_A375_24H_X1_B19:A03"
    assert set(meta.rna_plate) == {"LJP005_A375_24H_X1"}
    assert meta.pert_type.value_counts()["ctl_vehicle"] == 26
    assert meta.pert_time.iloc[0] == 24


def test_profiles_without_metadata_are_refused_and_nothing_is_written(tiny_world, data_dir):
    inst = read_inst_info(tiny_world["inst_info"]).iloc[5:]
    with pytest.raises(FormatError, match=r"expected a row for each of the 414 matrix columns, found 5 without one"):
        register_dataset("broken", tiny_world["l1000"], kind=DatasetKind.L1000, metadata=inst)
    assert not Dataset.objects.exists()
    assert not any(p.is_file() for p in data_dir.rglob("*"))


def test_registering_again_updates_the_same_dataset(tiny_world):
    inst = read_inst_info(tiny_world["inst_info"])
    first = register_dataset("tiny", tiny_world["l1000"], kind=DatasetKind.L1000, metadata=inst)
    second = register_dataset("tiny", tiny_world["l1000"], kind=DatasetKind.L1000, metadata=inst, description="again")
    assert first.pk == second.pk and Dataset.objects.count() == 1
    pd.testing.assert_frame_equal(load_metadata(first), load_metadata(second))
