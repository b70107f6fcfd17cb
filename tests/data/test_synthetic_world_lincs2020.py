"""The synthetic world in the LINCS 2020 layout: the release's files, read by the release's readers, end to end to signatures."""

import itertools
import json
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command

from conversion.formats.gctx import GctxReader
from conversion.formats.l1000 import batch_of_plate, read_compound_info, read_gene_info, read_inst_info
from conversion.synthetic import INSTINFO_COLUMNS, make_world

GENEINFO_COLUMNS = ["gene_id", "gene_symbol", "ensembl_id", "gene_title", "gene_type", "src", "feature_space"]
COMPOUNDINFO_COLUMNS = ["pert_id", "cmap_name", "target", "moa", "canonical_smiles", "inchi_key", "compound_aliases"]
# The release's instinfo_beta header (test_beta_tables.py has the same list, taken from the release).
RELEASE_INSTINFO_COLUMNS = [
    "bead_batch", "nearest_dose", "pert_dose", "pert_dose_unit", "pert_idose", "pert_time", "pert_itime", "pert_time_unit",
    "cell_mfc_name", "pert_mfc_id", "det_plate", "det_well", "rna_plate", "rna_well", "count_mean", "count_cv", "qc_f_logp",
    "qc_iqr", "qc_slope", "pert_id", "sample_id", "pert_type", "cell_iname", "qc_pass", "dyn_range", "inv_level_10",
    "build_name", "failure_mode", "project_code", "cmap_name",
]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return make_world(tmp_path_factory.mktemp("lincs_world"), size="tiny", seed=0, layout="lincs2020")


def _raw(path) -> pd.DataFrame:
    """A table as text, as the release's readers read it (latin-1)."""
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, encoding="latin-1")


# --- the files ---


def test_the_manifest_names_the_release_files_and_the_shared_ones(world):
    saved = json.loads((Path(world["instinfo_beta"]).parent / "manifest.json").read_text())
    assert saved == world and world["layout"] == "lincs2020"
    assert {"l1000", "inst_info", "gene_info"}.isdisjoint(world)
    for key in ("instinfo_beta", "geneinfo_beta", "compoundinfo_beta", "ncbi_gene_info", "archs4", "gtex_l1000", "gtex_rnaseq", "truth"):
        assert Path(world[key]).exists(), key
    names = [Path(p).name for p in world["level3_files"]]
    assert names == ["level3_beta_ctl_n162x200.gctx", "level3_beta_trt_cp_n216x200.gctx", "level3_beta_trt_xpr_n81x200.gctx"]
    assert len(world["landmark_entrez_ids"]) == 100 and len(world["output_entrez_ids"]) == 600


def test_level3_files_share_their_rows_and_hold_one_kind_of_profile_each(world):
    inst = _raw(world["instinfo_beta"]).set_index("sample_id")
    rows = None
    for path, kinds in zip(world["level3_files"], ({"ctl_vehicle", "ctl_vector"}, {"trt_cp"}, {"trt_xpr"})):
        with GctxReader(path) as r:
            n, g = map(int, Path(path).stem.rsplit("_n", 1)[1].split("x"))
            assert r.shape == (n, g)
            rows = r.row_ids if rows is None else rows
            assert list(r.row_ids) == list(rows)
            assert list(r.col_meta.columns) == [] and list(r.row_meta.columns) == []  # ids only, as the release's files
            assert set(inst.loc[r.col_ids, "pert_type"]) == kinds
            assert 2.0 <= r.read().min() and r.read().max() <= 15.5
    assert sorted(map(int, rows)) == sorted(map(int, _raw(world["geneinfo_beta"]).gene_id))


def test_instinfo_beta_has_the_release_columns_plates_and_spellings(world):
    raw = _raw(world["instinfo_beta"])
    assert list(raw.columns) == RELEASE_INSTINFO_COLUMNS == INSTINFO_COLUMNS
    assert (raw.sample_id == raw.det_plate + ":" + raw.det_well).all()
    assert raw.det_plate.str.fullmatch(r"(SYN|XPR)\d{3}_[A-Z0-9]+_\d+H_X\d(\.A2)?_B\d+").all()
    assert raw.det_plate.str.contains(r"_X\d\.A2_B").any() and raw.det_plate.str.contains(r"_X\d_B").any()
    has_rna = raw.rna_plate != ""
    assert (raw.rna_plate[has_rna] == raw.det_plate[has_rna].str.replace(r"_B\d+$", "", regex=True)).all()
    assert 0 < (~has_rna).sum() < len(raw) // 10
    assert (raw.det_plate.map(batch_of_plate) == raw.rna_plate.where(has_rna, raw.det_plate).map(batch_of_plate)).all()

    cp = raw[raw.pert_type == "trt_cp"]
    assert set(cp.pert_dose_unit) == {"uM", "um", "\u00c2\u00b5M"}  # UTF-8 micro sign, read as latin-1
    assert cp.groupby("pert_id").pert_dose_unit.nunique().max() == 3
    assert (cp.pert_idose == cp.pert_dose.astype(float).map(lambda d: f"{d:g} uM")).all()
    assert (raw.pert_itime == raw.pert_time + " h").all()
    other = raw[raw.pert_type != "trt_cp"]
    assert set(other.pert_dose) == {"-666"} and set(other.pert_dose_unit) == {""}

    failed = raw[raw.qc_pass == "0"]
    assert set(raw.qc_pass) == {"0", "1"} and len(failed) < len(raw) // 10
    assert failed.pert_type.str.startswith("trt_").any() and failed.pert_type.str.startswith("ctl_").any()
    assert (failed.failure_mode != "").all() and (raw.failure_mode[raw.qc_pass == "1"] == "").all()


def test_the_release_readers_normalise_instinfo_beta(world):
    inst = read_inst_info(world["instinfo_beta"])
    assert set(inst.loc[inst.pert_type == "trt_cp", "pert_dose_unit"]) == {"uM"}
    assert set(inst.qc_pass) == {"0", "1"}
    assert inst.rna_plate.notna().all()  # det_plate fills the empty rna_plate
    xpr = inst[inst.pert_type == "trt_xpr"]
    assert (xpr.target_gene == xpr.pert_iname).all()


def test_geneinfo_beta_has_the_three_feature_spaces(world):
    raw = _raw(world["geneinfo_beta"])
    assert list(raw.columns) == GENEINFO_COLUMNS
    assert raw.feature_space.value_counts().to_dict().keys() == {"landmark", "best inferred", "inferred"}
    genes = read_gene_info(world["geneinfo_beta"])
    assert sorted(genes.loc[genes.pr_is_lm, "pr_gene_id"]) == sorted(world["landmark_entrez_ids"])


def test_compounds_of_one_mechanism_share_their_planted_genes_and_target_them(world):
    raw = _raw(world["compoundinfo_beta"])
    assert list(raw.columns) == COMPOUNDINFO_COLUMNS
    assert raw.groupby("pert_id").target.nunique().max() > 1  # several targets, one row each
    compounds = read_compound_info(world["compoundinfo_beta"]).set_index("pert_id")
    inst = _raw(world["instinfo_beta"])
    assert set(compounds.index) == set(inst.loc[inst.pert_type == "trt_cp", "pert_id"])
    assert compounds.pert_moa.value_counts().min() >= 2

    truth = pd.read_csv(world["truth"], sep="\t")
    planted = truth[truth.pert_type == "trt_cp"].groupby("pert_id").symbol.agg(set)
    same, other = [], []
    for a, b in itertools.combinations(planted.index, 2):
        overlap = len(planted[a] & planted[b]) / len(planted[a] | planted[b])
        (same if compounds.pert_moa[a] == compounds.pert_moa[b] else other).append(overlap)
    assert min(same) > max(other)
    assert np.mean([t in planted[p] for p, t in zip(raw.pert_id, raw.target)]) > 0.8


def test_each_knocked_out_gene_has_sibling_sgrnas_named_in_the_truth_table(world):
    inst = _raw(world["instinfo_beta"])
    xpr = inst[inst.pert_type == "trt_xpr"]
    reagents = xpr.groupby("cmap_name").pert_id.nunique()
    assert len(reagents) == 4 and reagents.between(2, 3).all()
    truth = pd.read_csv(world["truth"], sep="\t")
    assert set(truth.loc[truth.pert_type == "trt_xpr", "pert_id"]) == set(xpr.pert_id)
    by_gene = truth[truth.pert_type == "trt_xpr"].groupby(["pert_iname", "pert_id"]).symbol.agg(frozenset)
    for gene, sets in by_gene.groupby(level=0):
        first, *rest = sets
        assert all(len(first & s) >= len(first) // 2 for s in rest), gene  # the siblings act on the same program


def test_a_new_seed_is_a_new_lincs_world(tmp_path, world):
    again = make_world(tmp_path / "s1", size="tiny", seed=1, layout="lincs2020")
    assert _raw(again["instinfo_beta"]).sample_id.tolist() != _raw(world["instinfo_beta"]).sample_id.tolist()


def test_an_unknown_layout_is_refused_naming_the_known_ones(tmp_path):
    with pytest.raises(ValueError, match=r"layout must be one of geo, lincs2020, found 'gse'\."):
        make_world(tmp_path / "w", layout="gse")
    assert not (tmp_path / "w").exists()


# --- import_l1000 and compute_signatures (django) ---


def _import(world, name="beta"):
    out = StringIO()
    call_command(
        "import_l1000", *world["level3_files"], "--inst-info", world["instinfo_beta"], "--gene-info", world["geneinfo_beta"],
        "--compound-info", world["compoundinfo_beta"], "--name", name, stdout=out,
    )  # fmt: skip
    return out.getvalue()


@pytest.mark.django_db
def test_import_l1000_registers_the_three_files_with_the_beta_tables(world):
    from conversion.datasets import load_metadata
    from conversion.models import Dataset

    out = _import(world)
    assert "3 files make one dataset of 459 profiles x 200 genes" in out
    assert out.count("All 100 landmark genes of gene_info") == 3
    assert "6 of 6 compounds" in out and "Dataset 'beta' registered: 459 profiles x 200 genes." in out
    meta = load_metadata(Dataset.objects.get(name="beta"))
    assert meta.pert_type[:162].str.startswith("ctl_").all()
    xpr, cp = meta[meta.pert_type == "trt_xpr"], meta[meta.pert_type == "trt_cp"]
    assert (xpr.target_gene == xpr.pert_iname).all() and xpr.target_gene.nunique() == 4
    assert cp.pert_moa.notna().all() and cp.pert_targets.notna().all()
    assert set(cp.pert_dose_unit) == {"uM"}
    assert (meta.qc_pass == "0").sum() == (_raw(world["instinfo_beta"]).qc_pass == "0").sum() > 0


@pytest.mark.django_db
def test_signatures_leave_out_sibling_sgrnas_and_qc_failed_profiles(world):
    from conversion.datasets import load_metadata
    from conversion.models import Dataset
    from signatures.batches import plan_batches
    from signatures.models import Signature

    _import(world)
    call_command("compute_signatures", "beta", "--inline", "--controls", "all", "--release", "r", stdout=StringIO(), stderr=StringIO())
    meta = load_metadata(Dataset.objects.get(name="beta"))
    plan = plan_batches(meta, controls="all", min_replicates=2)
    assert Signature.objects.filter(release__name="r").count() == plan.n_signatures > 0
    failed = set(np.flatnonzero((meta.qc_pass == "0").to_numpy()))
    target, pert_id = meta.target_gene.to_numpy(), meta.pert_id.to_numpy()
    assert failed
    crispr = 0
    for batch in plan.batches:
        for group in batch.groups:
            controls = batch.controls_of(group)
            assert failed.isdisjoint(group.positions) and failed.isdisjoint(controls)
            if group.pert_type == "crispr":
                crispr += 1
                siblings = [p for p in batch.positions if target[p] == group.target_gene and pert_id[p] != group.pert_id]
                assert siblings and set(siblings).isdisjoint(controls), group.sig_id
                assert not (target[controls] == group.target_gene).any(), group.sig_id
            sig = Signature.objects.get(release__name="r", sig_id=group.sig_id)
            assert sig.n_controls == len(controls) and sig.n_replicates == len(group.positions)
    assert crispr > 0
    # Three spellings of uM are one dose: a compound group without a QC failure has all three replicate plates.
    chem = Signature.objects.filter(release__name="r", pert_type="chemical")
    assert set(chem.values_list("dose_unit", flat=True)) == {"uM"} and chem.filter(n_replicates=3).exists()
    assert chem.exclude(pert_moa="").count() == chem.count()
