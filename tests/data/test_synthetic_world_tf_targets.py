"""The synthetic world's planted TF target sets (tf_targets.gmt): one per knocked-out gene, lowered by its knockout."""

from pathlib import Path

import numpy as np
import pandas as pd

from conversion.formats import open_matrix
from conversion.formats.l1000 import batch_of_plate, read_inst_info
from conversion.synthetic import TF_TARGETS_FILE, TF_TARGETS_PER_SET


def _sets(world) -> list[list[str]]:
    text = (Path(world["truth"]).parent / TF_TARGETS_FILE).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines()]


def test_one_set_per_knocked_out_gene_named_by_its_symbol_and_declared_down(tiny_world):
    inst = read_inst_info(tiny_world["inst_info"])
    ncbi = pd.read_csv(tiny_world["ncbi_gene_info"], sep="\t", dtype=str)
    output_symbols = set(ncbi.Symbol[ncbi.GeneID.astype(int).isin(tiny_world["output_entrez_ids"])])
    sets = _sets(tiny_world)
    assert sorted(s[0] for s in sets) == sorted(inst.pert_iname[inst.pert_type == "trt_xpr"].unique())
    for term, description, *members in sets:
        assert description.startswith("down:")
        assert len(members) == len(set(members)) == TF_TARGETS_PER_SET
        assert term not in members, "the knocked-out gene is the factor, not its own target"
        assert set(members) <= output_symbols


def test_the_knockout_lowers_its_measured_targets_in_the_cell_lines_where_it_acts(tiny_world):
    inst = read_inst_info(tiny_world["inst_info"])
    inst["batch"] = inst.rna_plate.map(batch_of_plate)
    ncbi = pd.read_csv(tiny_world["ncbi_gene_info"], sep="\t", dtype=str)
    entrez_of = dict(zip(ncbi.Symbol, ncbi.GeneID.astype(int)))
    truth = pd.read_csv(tiny_world["truth"], sep="\t")
    with open_matrix(tiny_world["l1000"]) as r:
        values = r.read()
        gene_pos = {int(g): i for i, g in enumerate(r.row_ids)}
    lowered, measured = [], 0
    for term, _, *members in _sets(tiny_world):
        rows = [gene_pos[entrez_of[m]] for m in members if entrez_of[m] in gene_pos]
        measured += len(rows)
        knockout = inst[(inst.pert_iname == term) & (inst.pert_type == "trt_xpr")]
        for cell in truth[truth.pert_iname == term].cell_id.unique():  # the cell lines where the knockout acts
            treated = knockout[knockout.cell_id == cell]
            controls = inst[inst.batch.isin(treated.batch) & (inst.pert_type == "ctl_vector")]
            diff = values[np.ix_(treated.index, rows)].mean(axis=0) - values[np.ix_(controls.index, rows)].mean(axis=0)
            lowered.append(np.mean(diff < 0))
    assert measured >= 20  # some members are output-only genes, absent from Level 3
    assert np.mean(lowered) > 0.9
