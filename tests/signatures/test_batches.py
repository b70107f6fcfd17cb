"""Batches, treatment groups and signature ids from per-profile metadata."""

import numpy as np
import pandas as pd
import pytest

from signatures.batches import BatchError, pert_type_of, plan_batches


def _meta(rows):
    cols = ["inst_id", "cell_id", "pert_id", "pert_iname", "pert_type", "pert_dose", "pert_dose_unit", "pert_time", "pert_time_unit", "rna_plate", "rna_well"]
    return pd.DataFrame([dict(zip(cols, r)) for r in rows])


def _plate(plate, cell="A375"):
    rows = []
    for rep in (1, 2, 3):
        p = plate.replace("{X}", f"X{rep}")
        rows.append((f"{p}:A0{rep}", cell, "DMSO", "DMSO", "ctl_vehicle", -666, "-666", 24, "h", p, "A01"))
        rows.append((f"{p}:B0{rep}", cell, "BRD-1", "drug1", "trt_cp", 10.0, "um", 24, "h", p, "B01"))
        rows.append((f"{p}:C0{rep}", cell, "BRD-1", "drug1", "trt_cp", 3.33, "um", 24, "h", p, "C01"))
        rows.append((f"{p}:D0{rep}", cell, "BRD-P", "poscon", "trt_poscon", 1.0, "um", 24, "h", p, "D01"))
    return rows


def test_replicates_across_plates_form_one_group_per_dose():
    plan = plan_batches(_meta(_plate("LJP005_A375_24H_{X}_B19")))
    assert [b.name for b in plan.batches] == ["LJP005_A375_24H"]
    ids = sorted(g.sig_id for g in plan.batches[0].groups)
    assert ids == ["LJP005_A375_24H:BRD-1:10:24", "LJP005_A375_24H:BRD-1:3.33:24", "LJP005_A375_24H:BRD-P:1:24"]
    meta = _meta(_plate("LJP005_A375_24H_{X}_B19"))
    for g in plan.batches[0].groups:
        assert len(g.positions) == 3
        # Controls: every profile of the batch but the perturbagen's own, at any dose.
        assert sorted(plan.batches[0].controls_of(g)) == sorted(meta.index[meta["pert_id"] != g.pert_id])
    assert {g.pert_id: plan.batches[0].n_controls(g) for g in plan.batches[0].groups} == {"BRD-1": 6, "BRD-P": 9}


def test_controls_are_never_signatures_and_poscons_take_the_plate_type():
    plan = plan_batches(_meta(_plate("P_{X}")))
    groups = plan.batches[0].groups
    assert "DMSO" not in {g.pert_id for g in groups}
    assert {g.pert_type for g in groups} == {"chemical"}
    assert pert_type_of("trt_xpr") == "crispr"
    assert pert_type_of("trt_sh.cgs") == "shrna"
    assert pert_type_of("trt_oe") == "overexpression"
    assert pert_type_of("trt_lig") == "ligand"


def test_vehicle_mode_uses_only_vehicle_controls():
    plan = plan_batches(_meta(_plate("P_{X}")), controls="vehicle")
    batch = plan.batches[0]
    assert len(batch.control_positions) == 3
    assert batch.n_controls(batch.groups[0]) == 3


def test_groups_below_min_replicates_are_skipped_and_counted():
    rows = _plate("P_{X}")[:4]  # one replicate plate only
    plan = plan_batches(_meta(rows), min_replicates=2)
    assert plan.batches == [] and plan.skipped_groups == 3 and plan.skipped_batches == 1
    plan = plan_batches(_meta(rows), min_replicates=1)
    assert plan.n_signatures == 3


def test_batch_without_vehicle_controls_is_skipped_with_a_note():
    rows = [r for r in _plate("P_{X}") if r[4] != "ctl_vehicle"]
    plan = plan_batches(_meta(rows), controls="vehicle")
    assert plan.batches == [] and plan.skipped_batches == 1
    assert "no vehicle or vector controls" in plan.notes[0]


def test_profiles_without_a_plate_are_counted():
    rows = _plate("P_{X}")
    rows[0] = rows[0][:9] + ("",) + rows[0][10:]
    plan = plan_batches(_meta(rows))
    assert plan.skipped_profiles == 1


def test_several_cell_lines_in_one_batch_keep_ids_unique():
    rows = _plate("P_{X}", cell="A375") + [r[:1] + ("MCF7",) + r[2:] for r in _plate("P_{X}", cell="x")]
    rows = [(f"{i}",) + r[1:] for i, r in enumerate(rows)]
    meta = _meta(rows)
    plan = plan_batches(meta)
    assert [b.name for b in plan.batches] == ["P:A375", "P:MCF7"], "a batch never mixes cell lines"
    for batch in plan.batches:
        assert meta.loc[batch.positions, "cell_id"].nunique() == 1
    ids = [g.sig_id for b in plan.batches for g in b.groups]
    assert len(ids) == 6 and len(set(ids)) == 6 and all(i.endswith((":A375", ":MCF7")) for i in ids)


def _knockouts(target_column=False):
    rows = []
    for rep in (1, 2, 3):
        p = f"XPR001_A549_96H_X{rep}_B36"
        rows.append((f"{p}:A", "A549", "EMPTY", "EMPTY_VECTOR", "ctl_vector", None, "", 96, "h", p, "A01"))
        rows.append((f"{p}:B", "A549", "EMPTY", "EMPTY_VECTOR", "ctl_vector", None, "", 96, "h", p, "A02"))
        for sg, gene in (("XPR-TP53-1", "TP53"), ("XPR-TP53-2", "TP53"), ("XPR-MYC-1", "MYC")):
            rows.append((f"{p}:{sg}", "A549", sg, gene if not target_column else sg, "trt_xpr", None, "", 96, "h", p, "B01"))
    meta = _meta(rows)
    if target_column:
        meta["target_gene"] = [None if r[4] != "trt_xpr" else r[2].split("-")[1] for r in rows]
    return meta


@pytest.mark.parametrize("target_column", [False, True], ids=["pert_iname names the gene", "target_gene column"])
def test_sibling_reagents_of_one_gene_are_never_each_others_controls(target_column):
    meta = _knockouts(target_column)
    (batch,) = plan_batches(meta, controls="all").batches
    by_pert = {g.pert_id: set(batch.controls_of(g).tolist()) for g in batch.groups}
    sgrna = meta["pert_id"].to_numpy()
    tp53 = set(meta.index[np.isin(sgrna, ["XPR-TP53-1", "XPR-TP53-2"])])
    myc = set(meta.index[sgrna == "XPR-MYC-1"])
    assert by_pert["XPR-TP53-1"] == by_pert["XPR-TP53-2"] == set(meta.index) - tp53
    assert by_pert["XPR-MYC-1"] == set(meta.index) - myc


def test_a_batch_of_one_perturbagen_has_nothing_to_compare_with():
    rows = [r for r in _plate("P_{X}") if r[2] == "BRD-1"]
    plan = plan_batches(_meta(rows))
    assert plan.batches == [] and plan.skipped_no_controls == 2 and plan.skipped_groups == 2


def test_missing_columns_and_bad_options_are_named():
    with pytest.raises(BatchError, match="missing rna_plate"):
        plan_batches(_meta(_plate("P_{X}")).drop(columns=["rna_plate"]))
    with pytest.raises(BatchError, match="controls must be one of auto, all, vehicle, found 'dmso'"):
        plan_batches(_meta(_plate("P_{X}")), controls="dmso")


def test_groups_carry_their_target_gene_and_plans_survive_json():
    import json

    from signatures.batches import batch_from_dict, batch_to_dict

    for meta in (_knockouts(), _meta(_plate("P_{X}"))):
        (batch,) = plan_batches(meta, controls="all").batches
        text = json.dumps(batch_to_dict(batch), allow_nan=False)  # PostgreSQL's JSON has no NaN
        again = batch_from_dict(json.loads(text))
        assert [(g.sig_id, g.target_gene, g.controls.tolist()) for g in again.groups] == [(g.sig_id, g.target_gene, g.controls.tolist()) for g in batch.groups]
    (batch,) = plan_batches(_knockouts(), controls="all").batches
    assert {g.pert_id: g.target_gene for g in batch.groups} == {"XPR-TP53-1": "TP53", "XPR-TP53-2": "TP53", "XPR-MYC-1": "MYC"}


def test_auto_uses_vehicle_controls_where_a_batch_has_enough_of_them():
    from signatures.batches import AUTO_MIN_VEHICLES

    few = plan_batches(_meta(_plate("P_{X}")))  # 3 DMSO profiles
    assert AUTO_MIN_VEHICLES > 3 and few.batches[0].controls == "all" and few.batches[0].control_positions is None
    many = plan_batches(_knockouts())  # 6 empty-vector profiles
    (batch,) = many.batches
    assert batch.controls == "vehicle" and len(batch.control_positions) == AUTO_MIN_VEHICLES
    assert all(batch.n_controls(g) == AUTO_MIN_VEHICLES for g in batch.groups)


def _with_qc(rows, failed_ids):
    meta = _meta(rows)
    meta["qc_pass"] = ["0" if i in failed_ids else "1" for i in meta["inst_id"]]
    return meta


def test_profiles_that_failed_qc_are_left_out_of_groups_and_controls_and_counted():
    failed = {"P_X1:B01", "P_X2:A02"}  # a drug1 10 uM replicate and a DMSO well
    meta = _with_qc(_plate("P_{X}"), failed)
    failed_pos = set(meta.index[meta["inst_id"].isin(failed)])
    plan = plan_batches(meta, controls="all")
    (batch,) = plan.batches
    assert plan.skipped_qc_failed == 2 and plan.skipped_profiles == 0
    assert plan.notes[0] == "2 profiles failed QC (qc_pass 0) and were left out; keep_qc_failed keeps them."
    assert not failed_pos & set(batch.positions.tolist())
    by_id = {g.sig_id: g for g in batch.groups}
    assert len(by_id["P:BRD-1:10:24"].positions) == 2 and len(by_id["P:BRD-1:3.33:24"].positions) == 3
    for g in batch.groups:
        assert not failed_pos & set(batch.controls_of(g).tolist())
    assert batch.n_controls(by_id["P:BRD-P:1:24"]) == 12 - 3 - 2


def test_keep_qc_failed_keeps_them_and_counts_none():
    meta = _with_qc(_plate("P_{X}"), {"P_X1:B01", "P_X2:A02"})
    plan = plan_batches(meta, controls="all", keep_qc_failed=True)
    assert plan.skipped_qc_failed == 0 and plan.notes == []
    assert len(plan.batches[0].positions) == 12
    assert all(len(g.positions) == 3 for g in plan.batches[0].groups)


def test_a_missing_qc_pass_counts_as_passed():
    meta = _meta(_plate("P_{X}"))
    meta["qc_pass"] = [np.nan, None, "1", 1.0] * 3  # GEO releases have no flag; tables read back hold NaN
    plan = plan_batches(meta, controls="all")
    assert plan.skipped_qc_failed == 0 and len(plan.batches[0].positions) == 12


def test_a_missing_dose_is_a_dash_in_the_id_even_beside_numeric_doses():
    rows = _plate("LJP005_A375_24H_{X}_B19")
    for rep in (1, 2, 3):
        p = f"LJP005_A375_24H_X{rep}_B19"
        rows.append((f"{p}:E0{rep}", "A375", "XPR-1", "TP53", "trt_xpr", None, None, 96, "h", p, "E01"))
    meta = _meta(rows)
    meta["pert_dose"] = pd.to_numeric(meta["pert_dose"])  # a float column: the knockouts' doses are NaN
    ids = {g.pert_id: g.sig_id for g in plan_batches(meta).batches[0].groups}
    assert ids["XPR-1"] == "LJP005_A375_24H:XPR-1:-:96"
