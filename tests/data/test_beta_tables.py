"""The LINCS 2020 ("beta") companion tables: instinfo_beta, geneinfo_beta and compoundinfo_beta.

Small tables in the release's layout (its column order, -666 and empty cells,
several rows per compound) are written to tmp_path; the import command is run
end to end on them and a Level 3 GCTX whose rows are Entrez ids.
"""

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from conversion.datasets import load_metadata
from conversion.formats import FormatError
from conversion.formats.gctx import write_gctx
from conversion.formats.l1000 import PROFILE_COLUMNS, read_compound_info, read_gene_info, read_inst_info
from conversion.models import Dataset, Gene, GeneStatus
from signatures.batches import plan_batches

GENEINFO_COLUMNS = ["gene_id", "gene_symbol", "ensembl_id", "gene_title", "gene_type", "src", "feature_space"]
GENES = [
    (1848, "DUSP6", "ENSG00000139318", "dual specificity phosphatase 6", "protein-coding", "NCBI", "landmark"),
    (5720, "PSME1", "ENSG00000092010", "proteasome activator subunit 1", "protein-coding", "NCBI", "landmark"),
    (1026, "CDKN1A", "ENSG00000124762", "cyclin dependent kinase inhibitor 1A", "protein-coding", "NCBI", "landmark"),
    (7157, "TP53", "ENSG00000141510", "tumor protein p53", "protein-coding", "NCBI", "best inferred"),
    (673, "BRAF", "-666", "B-Raf proto-oncogene, serine/threonine kinase", "protein-coding", "NCBI", "inferred"),
]

INSTINFO_COLUMNS = [
    "bead_batch", "nearest_dose", "pert_dose", "pert_dose_unit", "pert_idose", "pert_time", "pert_itime", "pert_time_unit",
    "cell_mfc_name", "pert_mfc_id", "det_plate", "det_well", "rna_plate", "rna_well", "count_mean", "count_cv", "qc_f_logp",
    "qc_iqr", "qc_slope", "pert_id", "sample_id", "pert_type", "cell_iname", "qc_pass", "dyn_range", "inv_level_10",
    "build_name", "failure_mode", "project_code", "cmap_name",
]

SELUMETINIB, GEFITINIB = "BRD-K57080016", "BRD-K64052750"
MICRO = ("uM", "um", "\u00b5M")  # the three spellings of one unit on three replicate plates

COMPOUNDINFO = """pert_id\tcmap_name\ttarget\tmoa\tcanonical_smiles\tinchi_key\tcompound_aliases
BRD-K57080016\tselumetinib\tMAP2K2\tMEK inhibitor\tCN1C=NC2=C1C=C(C(=C2F)NC3=C(C=C(C=C3)Br)Cl)C(=O)NOCCO\tCYOHGALHFOKKQC-UHFFFAOYSA-N\tAZD6244
BRD-K57080016\tselumetinib\tMAP2K1\tMEK inhibitor\tCN1C=NC2=C1C=C(C(=C2F)NC3=C(C=C(C=C3)Br)Cl)C(=O)NOCCO\tCYOHGALHFOKKQC-UHFFFAOYSA-N\tAZD6244
BRD-K64052750\tgefitinib\tEGFR\tEGFR inhibitor\tCOC1=C(C=C2C(=C1)N=CN=C2NC3=CC(=C(C=C3)F)Cl)OCCCN4CCOCC4\tXGALLCVXEZPNRQ-UHFFFAOYSA-N\t
BRD-K00000001\tmystery\t-666\t\t\t\t
"""


def _instinfo_rows():
    """Two batches of three replicate plates: compounds (ABY001, rna_plate empty or shorter) and CRISPR knockouts (XPR021)."""
    rows = []
    for rep, unit in zip((1, 2, 3), MICRO):
        plate = f"ABY001_A375_XH_X{rep}_B15"
        rna_plate = "" if rep == 1 else f"ABY001_A375_XH_X{rep}"
        wells = [
            ("A01", "DMSO", "ctl_vehicle", "DMSO", -666, "", "1"),
            ("A02", "DMSO", "ctl_vehicle", "DMSO", -666, "", "1"),
            ("B01", SELUMETINIB, "trt_cp", "selumetinib", 10, unit, "0" if rep == 2 else "1"),
            ("C01", GEFITINIB, "trt_cp", "gefitinib", 10, unit, "1"),
        ]
        for well, pert_id, pert_type, name, dose, dose_unit, qc in wells:
            rows.append(_inst(plate, well, rna_plate, pert_id, pert_type, name, dose, dose_unit, 24, qc))
    for rep in (1, 2, 3):
        plate = f"XPR021_A375_96H_X{rep}_B36"
        wells = [
            ("A01", "pLX311-Cas9", "ctl_vector", "pLX311-Cas9"),
            ("B01", "BRDN0001145427", "trt_xpr", "TP53"),
            ("B02", "BRDN0001147264", "trt_xpr", "TP53"),  # a second sgRNA against the same gene
            ("C01", "BRDN0001486544", "trt_xpr", "DUSP6"),
        ]
        for well, pert_id, pert_type, name in wells:
            rows.append(_inst(plate, well, plate[:-4], pert_id, pert_type, name, -666, "", 96, "1"))
    return rows


def _inst(plate, well, rna_plate, pert_id, pert_type, name, dose, unit, time, qc):
    row = dict.fromkeys(INSTINFO_COLUMNS, "-666")
    row.update(
        bead_batch=plate.rsplit("_", 1)[1], pert_dose=dose, pert_dose_unit=unit or "-666", pert_idose=f"{dose} {unit}" if unit else "-666",
        pert_time=time, pert_itime=f"{time} h", pert_time_unit="h", cell_mfc_name="A375", det_plate=plate, det_well=well,
        rna_plate=rna_plate, rna_well="", pert_id=pert_id, sample_id=f"{plate}:{well}", pert_type=pert_type, cell_iname="A375",
        qc_pass=qc, build_name="", project_code=plate[:6], cmap_name=name,
    )
    return row


@pytest.fixture
def beta(tmp_path):
    """Paths of a small 2020 release: level3 GCTX, instinfo_beta, geneinfo_beta, compoundinfo_beta."""
    inst = pd.DataFrame(_instinfo_rows(), columns=INSTINFO_COLUMNS)
    inst.to_csv(tmp_path / "instinfo_beta.txt", sep="\t", index=False, encoding="utf-8")
    pd.DataFrame(GENES, columns=GENEINFO_COLUMNS).to_csv(tmp_path / "geneinfo_beta.txt", sep="\t", index=False)
    (tmp_path / "compoundinfo_beta.txt").write_text(COMPOUNDINFO)
    rng = np.random.default_rng(7)
    values = rng.uniform(4, 12, (len(inst), len(GENES))).astype(np.float32)  # (profiles, genes), log2 scale
    write_gctx(tmp_path / "level3_beta_n24x5.gctx", values, [str(g[0]) for g in GENES], inst.sample_id.tolist())
    return {name: tmp_path / f"{name}.txt" for name in ("instinfo_beta", "geneinfo_beta", "compoundinfo_beta")} | {
        "level3": tmp_path / "level3_beta_n24x5.gctx"
    }


# --- geneinfo_beta ---


def test_geneinfo_beta_is_given_the_geo_names_and_flags(beta):
    genes = read_gene_info(beta["geneinfo_beta"]).set_index("pr_gene_id")
    assert genes.index.tolist() == [1848, 5720, 1026, 7157, 673]
    assert genes.loc[1848, "pr_gene_symbol"] == "DUSP6" and genes.loc[1848, "pr_gene_title"] == "dual specificity phosphatase 6"
    assert genes.pr_is_lm.to_dict() == {1848: True, 5720: True, 1026: True, 7157: False, 673: False}
    assert genes.pr_is_bing.to_dict() == {1848: True, 5720: True, 1026: True, 7157: True, 673: False}
    assert genes.loc[1848, "ensembl_id"] == "ENSG00000139318" and pd.isna(genes.loc[673, "ensembl_id"])


def test_geneinfo_beta_without_feature_space_is_refused_naming_the_column_and_file(tmp_path):
    path = tmp_path / "geneinfo_beta.txt"
    pd.DataFrame(GENES, columns=GENEINFO_COLUMNS).drop(columns="feature_space").to_csv(path, sep="\t", index=False)
    with pytest.raises(FormatError) as exc:
        read_gene_info(path)
    assert str(exc.value) == (
        f"geneinfo_beta file {path}: expected a feature_space column, found columns gene_id, gene_symbol, ensembl_id, gene_title, gene_type, src."
    )


def test_an_unknown_feature_space_is_named_with_its_gene(tmp_path):
    path = tmp_path / "geneinfo_beta.txt"
    pd.DataFrame([GENES[0], GENES[1][:-1] + ("measured",)], columns=GENEINFO_COLUMNS).to_csv(path, sep="\t", index=False)
    with pytest.raises(FormatError) as exc:
        read_gene_info(path)
    assert str(exc.value) == f"geneinfo_beta file {path}: expected feature_space landmark, best inferred or inferred, found 'measured' for gene_id 5720."


def test_the_registry_reads_geneinfo_beta_statuses_and_ensembl_ids(beta, db):
    from conversion.registry import import_gene_info

    summary = import_gene_info(beta["geneinfo_beta"])
    assert (summary.genes, summary.landmarks, summary.inferred) == (5, 3, 2)
    statuses = dict(Gene.objects.values_list("entrez_id", "status"))
    assert statuses == {1848: GeneStatus.LANDMARK, 5720: GeneStatus.LANDMARK, 1026: GeneStatus.LANDMARK, 7157: GeneStatus.INFERRED, 673: GeneStatus.INFERRED}
    dusp6, braf = Gene.objects.get(pk=1848), Gene.objects.get(pk=673)
    assert (dusp6.symbol, dusp6.name, dusp6.ensembl_id) == ("DUSP6", "dual specificity phosphatase 6", "ENSG00000139318")
    assert braf.ensembl_id == ""


# --- compoundinfo_beta ---


def test_compoundinfo_becomes_one_row_per_compound_with_joined_targets(beta):
    compounds = read_compound_info(beta["compoundinfo_beta"]).set_index("pert_id")
    assert compounds.index.tolist() == ["BRD-K00000001", SELUMETINIB, GEFITINIB]
    assert compounds.loc[SELUMETINIB, "pert_targets"] == "MAP2K1|MAP2K2"  # sorted, though MAP2K2 comes first in the file
    assert compounds.loc[SELUMETINIB, "pert_moa"] == "MEK inhibitor"  # once, though on both rows
    assert (compounds.loc[GEFITINIB, "pert_targets"], compounds.loc[GEFITINIB, "pert_moa"]) == ("EGFR", "EGFR inhibitor")
    assert compounds.loc["BRD-K00000001", "pert_targets"] is None and compounds.loc["BRD-K00000001", "pert_moa"] is None
    assert compounds.loc[SELUMETINIB, "inchi_key"] == "CYOHGALHFOKKQC-UHFFFAOYSA-N"


def test_compoundinfo_without_moa_is_refused_naming_the_column_and_file(tmp_path):
    path = tmp_path / "compoundinfo_beta.txt"
    path.write_text("pert_id\tcmap_name\ttarget\nBRD-K57080016\tselumetinib\tMAP2K1\n")
    with pytest.raises(FormatError) as exc:
        read_compound_info(path)
    assert str(exc.value) == f"compoundinfo file {path}: expected a moa column, found columns pert_id, cmap_name, target."


# --- instinfo_beta ---


def test_instinfo_beta_is_normalised_with_det_plate_where_rna_plate_is_empty(beta):
    meta = read_inst_info(beta["instinfo_beta"]).set_index("inst_id")
    assert meta.columns.tolist() == PROFILE_COLUMNS[1:]
    row = meta.loc["ABY001_A375_XH_X1_B15:B01"]
    assert (row.cell_id, row.pert_id, row.pert_iname, row.pert_type) == ("A375", SELUMETINIB, "selumetinib", "trt_cp")
    # rna_plate is empty on ABY001 X1 (det_plate fills it) and det_plate without its bead batch elsewhere (kept).
    compounds = meta[meta.index.str.startswith("ABY001")]
    assert compounds.rna_plate.unique().tolist() == ["ABY001_A375_XH_X1_B15", "ABY001_A375_XH_X2", "ABY001_A375_XH_X3"]
    assert (meta.rna_well == meta.index.str.split(":").str[1]).all()  # rna_well is empty throughout: det_well
    assert set(meta.loc[meta.pert_type == "trt_cp", "pert_dose_unit"]) == {"uM"}  # uM, um and µM read as latin-1
    assert meta.loc[meta.pert_type == "ctl_vehicle", "pert_dose"].isna().all()


def test_instinfo_beta_keeps_qc_pass_and_names_the_target_gene_of_knockouts(beta):
    meta = read_inst_info(beta["instinfo_beta"]).set_index("inst_id")
    assert meta.qc_pass.value_counts().to_dict() == {"1": 23, "0": 1}
    assert meta.loc["ABY001_A375_XH_X2_B15:B01", "qc_pass"] == "0"
    knockouts = meta[meta.pert_type == "trt_xpr"]
    assert knockouts.target_gene.tolist() == ["TP53", "TP53", "DUSP6"] * 3
    assert meta.loc[meta.pert_type != "trt_xpr", "target_gene"].isna().all()


def test_genetic_pert_types_take_their_gene_from_cmap_name_and_a_bad_qc_flag_is_named():
    from conversion.formats.l1000 import normalise_profile_metadata

    meta = pd.DataFrame(
        {
            "sample_id": ["a", "b", "c", "d", "e"],
            "pert_type": ["trt_sh", "trt_oe", "trt_sh.cgs", "trt_cp", "ctl_vector"],
            "cmap_name": ["KRAS", "MYC", "PTEN", "vorinostat", "EMPTY_VECTOR"],
            "qc_pass": ["1", "0", "1.0", "-666", ""],
        }
    )
    out = normalise_profile_metadata(meta)
    assert out.target_gene.tolist() == ["KRAS", "MYC", "PTEN", None, None]
    assert out.qc_pass.tolist() == ["1", "0", "1", None, None]
    with pytest.raises(FormatError, match=r"^metadata: expected qc_pass 1 or 0, found 'yes'\.$"):
        normalise_profile_metadata(meta.assign(qc_pass=["1", "yes", "1", "1", "1"]))


# --- import_l1000 end to end ---


@pytest.mark.django_db
def test_import_l1000_registers_a_beta_release_with_annotations(beta, capsys):
    call_command(
        "import_l1000", str(beta["level3"]), "--inst-info", str(beta["instinfo_beta"]), "--gene-info", str(beta["geneinfo_beta"]),
        "--compound-info", str(beta["compoundinfo_beta"]), "--name", "beta-mini",
    )
    out = capsys.readouterr().out
    assert f"All 3 landmark genes of gene_info {beta['geneinfo_beta']} are present" in out
    assert "6 of 6 compound profiles (2 of 2 compounds) are in the table." in out
    assert "Dataset 'beta-mini' registered: 24 profiles x 5 genes." in out
    meta = load_metadata(Dataset.objects.get(name="beta-mini")).set_index("inst_id")
    selumetinib = meta[meta.pert_id == SELUMETINIB]
    assert set(selumetinib.pert_targets) == {"MAP2K1|MAP2K2"} and set(selumetinib.pert_moa) == {"MEK inhibitor"}
    assert set(meta.loc[meta.pert_id == GEFITINIB, "pert_targets"]) == {"EGFR"}
    assert meta.loc[meta.pert_type != "trt_cp", ["pert_targets", "pert_moa"]].isna().all().all()
    assert meta.loc["XPR021_A375_96H_X3_B36:B02", "target_gene"] == "TP53"
    assert meta.loc["ABY001_A375_XH_X2_B15:B01", "qc_pass"] == "0"
    assert Gene.objects.get(pk=7157).status == GeneStatus.INFERRED and Gene.objects.filter(status=GeneStatus.LANDMARK).count() == 3

    # On into signatures: the QC-failed replicate is left out, the annotations ride on the groups.
    plan = plan_batches(load_metadata(Dataset.objects.get(name="beta-mini")), controls="all")
    assert plan.skipped_qc_failed == 1
    assert [b.name for b in plan.batches] == ["ABY001_A375_XH", "XPR021_A375_96H"]
    groups = {g.pert_id: g for b in plan.batches for g in b.groups}
    assert sorted(groups) == [SELUMETINIB, GEFITINIB, "BRDN0001145427", "BRDN0001147264", "BRDN0001486544"]
    mek = groups[SELUMETINIB]
    assert mek.sig_id == f"ABY001_A375_XH:{SELUMETINIB}:10:24"  # one group: the three unit spellings are one unit
    assert (len(mek.positions), mek.dose_unit, mek.pert_targets, mek.pert_moa) == (2, "uM", "MAP2K1|MAP2K2", "MEK inhibitor")
    sg = groups["BRDN0001145427"]
    assert sg.target_gene == "TP53" and sg.pert_type == "crispr"
    assert len(sg.controls) == 12 - 6  # neither its own sgRNA nor the other one against TP53


@pytest.mark.django_db
def test_import_l1000_names_a_beta_landmark_missing_from_the_matrix_and_registers_nothing(beta, data_dir):
    extra = pd.DataFrame([(23, "ABCF1", "ENSG00000204574", "ATP binding cassette subfamily F member 1", "protein-coding", "NCBI", "landmark")], columns=GENEINFO_COLUMNS)
    pd.concat([pd.read_csv(beta["geneinfo_beta"], sep="\t", dtype=str), extra.astype(str)]).to_csv(beta["geneinfo_beta"], sep="\t", index=False)
    with pytest.raises(CommandError) as exc:
        call_command(
            "import_l1000", str(beta["level3"]), "--inst-info", str(beta["instinfo_beta"]), "--gene-info", str(beta["geneinfo_beta"]),
            "--compound-info", str(beta["compoundinfo_beta"]), "--name", "beta-mini",
        )
    assert str(exc.value) == f"{beta['level3']}: expected the 4 landmark genes, found 3: missing Entrez ids 23."
    assert not Dataset.objects.exists() and not Gene.objects.exists()
    assert not any(p.is_file() for p in data_dir.rglob("*"))


@pytest.mark.django_db
def test_import_l1000_refuses_a_compoundinfo_without_target_before_reading_the_matrix(beta, tmp_path):
    bad = tmp_path / "compoundinfo_no_target.txt"
    bad.write_text("pert_id\tcmap_name\tmoa\nBRD-K57080016\tselumetinib\tMEK inhibitor\n")
    with pytest.raises(CommandError, match=r"^compoundinfo file .*compoundinfo_no_target\.txt: expected a target column, found columns pert_id, cmap_name, moa\.$"):
        call_command("import_l1000", str(beta["level3"]), "--inst-info", str(beta["instinfo_beta"]), "--compound-info", str(bad))
    assert not Dataset.objects.exists()
