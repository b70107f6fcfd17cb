"""A metadata table written before qc_pass, target_gene, pert_targets and pert_moa joined PROFILE_COLUMNS still loads."""

import pytest

from conversion.datasets import load_metadata
from conversion.formats.l1000 import PROFILE_COLUMNS
from conversion.models import Dataset, DatasetKind
from signatures.batches import plan_batches

pytestmark = pytest.mark.django_db

OLD_COLUMNS = ["inst_id", "cell_id", "pert_id", "pert_iname", "pert_type", "pert_dose", "pert_dose_unit", "pert_time", "pert_time_unit", "rna_plate", "rna_well"]


def test_a_table_without_the_new_columns_reads_them_as_nan_and_still_plans(data_dir):
    lines = ["\t".join(OLD_COLUMNS)]
    for rep in (1, 2, 3):
        plate = f"XPR001_A549_96H_X{rep}_B36"
        lines.append(f"{plate}:A01\tA549\tEMPTY\tEMPTY_VECTOR\tctl_vector\t\t\t96\th\t{plate}\tA01")
        lines.append(f"{plate}:B01\tA549\tXPR-TP53-1\tTP53\ttrt_xpr\t\t\t96\th\t{plate}\tB01")
        lines.append(f"{plate}:C01\tA549\tXPR-MYC-1\tMYC\ttrt_xpr\t\t\t96\th\t{plate}\tC01")
    (data_dir / "metadata").mkdir()
    (data_dir / "metadata" / "old.tsv").write_text("\n".join(lines) + "\n")
    dataset = Dataset.objects.create(name="old", kind=DatasetKind.L1000, path="old.gctx", metadata_path="metadata/old.tsv", n_profiles=9, n_genes=5)

    meta = load_metadata(dataset)
    assert list(meta.columns) == PROFILE_COLUMNS and len(meta) == 9
    assert meta[["qc_pass", "target_gene", "pert_targets", "pert_moa"]].isna().all().all()
    assert meta.pert_time.tolist() == [96.0] * 9 and meta.pert_dose.isna().all()

    plan = plan_batches(meta, controls="all")
    assert plan.skipped_qc_failed == 0
    assert {g.pert_id: g.target_gene for g in plan.batches[0].groups} == {"XPR-TP53-1": "TP53", "XPR-MYC-1": "MYC"}
