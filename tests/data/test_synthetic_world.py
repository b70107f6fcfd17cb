"""The synthetic world's files pass our own validators and carry the planted effects."""

import numpy as np
import pandas as pd

from conversion.formats import open_matrix
from conversion.formats.archs4 import Archs4Reader
from conversion.formats.gtex import read_paired
from conversion.formats.l1000 import batch_of_plate, landmark_positions, read_gene_info, read_inst_info
from conversion.formats.validate import check_metadata_matches, validate_matrix


def test_level3_file_passes_the_validators_and_matches_inst_info(tiny_world):
    inst = read_inst_info(tiny_world["inst_info"])
    with open_matrix(tiny_world["l1000"]) as r:
        summary = validate_matrix(r, chunk_size=100)
        check_metadata_matches(inst.inst_id, r.col_ids, path=r.path)
        positions = landmark_positions(r.row_ids, tiny_world["landmark_entrez_ids"])
        assert list(r.row_ids[positions]) == [str(e) for e in tiny_world["landmark_entrez_ids"]]
        assert r.row_meta["pr_is_lm"].iloc[positions].all()
    assert 2.0 <= summary.min and summary.max <= 15.5  # L1000 Level 3 range, log2 scale
    assert set(inst.pert_type) == {"ctl_vehicle", "ctl_vector", "trt_cp", "trt_xpr"}


def test_every_treatment_sits_on_every_replicate_plate_of_its_batch(tiny_world):
    inst = read_inst_info(tiny_world["inst_info"])
    inst["batch"] = inst.rna_plate.map(batch_of_plate)
    assert inst.rna_plate.str.contains(r"_X\d+$").all()
    for batch, rows in inst.groupby("batch"):
        plates = rows.rna_plate.nunique()
        assert plates >= 2
        treated = rows[rows.pert_type.str.startswith("trt_")]
        per_group = treated.groupby(["pert_id", "pert_dose", "pert_time"], dropna=False).rna_plate.nunique()
        assert (per_group == plates).all(), batch
        assert rows.pert_type.str.startswith("ctl_").any()


def test_planted_landmark_effects_are_visible_against_same_batch_controls(tiny_world):
    truth = pd.read_csv(tiny_world["truth"], sep="\t")
    inst = read_inst_info(tiny_world["inst_info"])
    inst["batch"] = inst.rna_plate.map(batch_of_plate)
    with open_matrix(tiny_world["l1000"]) as r:
        values = r.read()
        gene_pos = {int(g): i for i, g in enumerate(r.row_ids)}
    lm_truth = truth[truth.is_landmark]
    agree = []
    for row in lm_truth.itertuples():
        top_dose = inst[(inst.pert_id == row.pert_id) & (inst.cell_id == row.cell_id)]
        top_dose = top_dose[(top_dose.pert_dose.isna()) | (top_dose.pert_dose == top_dose.pert_dose.max())]
        top_dose = top_dose[top_dose.pert_time == top_dose.pert_time.max()]
        controls = inst[inst.batch.isin(top_dose.batch) & inst.pert_type.str.startswith("ctl_")]
        diff = values[top_dose.index, gene_pos[row.entrez_id]].mean() - values[controls.index, gene_pos[row.entrez_id]].mean()
        agree.append(np.sign(diff) == (1 if row.direction == "up" else -1))
    assert len(agree) > 20
    assert np.mean(agree) > 0.9


def test_truth_table_includes_genes_outside_the_landmarks_in_both_directions(tiny_world):
    truth = pd.read_csv(tiny_world["truth"], sep="\t")
    assert (~truth.is_landmark).sum() > 0
    assert set(truth.direction) == {"up", "down"}
    assert set(truth.pert_type) == {"trt_cp", "trt_xpr"}
    assert set(truth.entrez_id) <= set(tiny_world["output_entrez_ids"])
    assert (truth.effect.abs() >= 1.0).all()


def test_gene_tables_carry_outdated_cmap_symbols_as_ncbi_synonyms(tiny_world):
    cmap = read_gene_info(tiny_world["gene_info"])
    ncbi = pd.read_csv(tiny_world["ncbi_gene_info"], sep="\t", dtype=str)
    merged = cmap.merge(ncbi.assign(GeneID=ncbi.GeneID.astype(int)), left_on="pr_gene_id", right_on="GeneID")
    assert len(merged) == len(cmap)
    renamed = merged[merged.pr_gene_symbol != merged.Symbol]
    assert len(renamed) >= 2
    assert all(old in syn.split("|") for old, syn in zip(renamed.pr_gene_symbol, renamed.Synonyms))
    assert ncbi.dbXrefs.str.contains("Ensembl:ENSG").all()
    assert int(cmap.pr_is_lm.sum()) == len(tiny_world["landmark_entrez_ids"])


def test_archs4_and_gtex_files_read_back_with_matching_genes_and_samples(tiny_world):
    with Archs4Reader(tiny_world["archs4"]) as a:
        counts = a.read_samples([5, 0, 3])
        assert counts.shape == (3, a.n_genes) and counts.min() >= 0
        assert a.n_samples == 400
        assert len(set(a.symbols)) == a.n_genes
    paired = read_paired(tiny_world["gtex_l1000"], tiny_world["gtex_rnaseq"])
    assert len(paired) == 120
    assert sorted(map(int, paired.l1000_gene_ids)) == sorted(tiny_world["landmark_entrez_ids"])
    assert list(map(int, paired.rnaseq_gene_ids)) == tiny_world["output_entrez_ids"]
    # Paired by id: the same sample's landmark values agree across platforms far better than a mismatched pair.
    rna_lm = paired.rnaseq[:, [list(paired.rnaseq_gene_ids).index(g) for g in paired.l1000_gene_ids]]
    same = np.mean([np.corrcoef(paired.l1000[i], rna_lm[i])[0, 1] for i in range(20)])
    shifted = np.mean([np.corrcoef(paired.l1000[i], rna_lm[i + 1])[0, 1] for i in range(20)])
    assert same > shifted + 0.05
