"""On the tiny synthetic world, the planted perturbagens top their genes' lists.

The world (conversion.synthetic) plants, for a few perturbagens, effects on
known (gene, direction) pairs (`truth`). We compute signatures from the world's
L1000 Level 3 file directly (3 replicate plates per batch, so groups of 3
replicates against all other profiles of the batch, the published setting),
take for every planted pair the gene's top 10 signatures of the perturbagen's
type in the planted direction by CD, and count a hit when one of them is a
signature of the planted perturbagen: recall@10.
"""

import numpy as np
import pandas as pd
import pytest

from conversion.formats import open_matrix
from signatures.batches import compute_batch, plan_batches
from signatures.store import ranks_up
from signatures.topk import TopKAccumulator

TOP = 10


def _recall_at_10(world, controls):
    meta = pd.read_csv(world["inst_info"], sep="\t")
    truth = pd.read_csv(world["truth"], sep="\t")
    with open_matrix(world["l1000"]) as reader:
        col_ids = list(reader.col_ids)
        genes = reader.row_meta["pr_gene_id"].astype(int).to_numpy()
        meta = meta.set_index("inst_id").loc[col_ids].reset_index()
        plan = plan_batches(meta, controls=controls, min_replicates=2)
        cds, fcs, sigs = [], [], []
        for batch in plan.batches:
            cd, fc = compute_batch(reader.read(cols=batch.positions), batch)
            cds.append(cd), fcs.append(fc), sigs.extend(batch.groups)
    cd, fc = np.concatenate(cds), np.concatenate(fcs)
    pert_of = np.array([g.pert_id for g in sigs])
    type_of = np.array([g.pert_type for g in sigs])
    gene_pos = {int(g): i for i, g in enumerate(genes)}
    rng = np.random.default_rng(0)
    shuffled = [rng.permutation(pert_of) for _ in range(20)]  # chance: perturbagen labels shuffled
    hits, chance, total = 0, 0.0, 0
    l1000_types = {"trt_cp": "chemical", "trt_xpr": "crispr"}
    for pert_type in np.unique(type_of):
        cols = np.flatnonzero(type_of == pert_type)
        acc = TopKAccumulator(len(genes), k=TOP)
        acc.update(cols, cd[cols], fc[cols], ranks_up(cd[cols]))
        rows = acc.rows()
        planted = truth[truth["pert_type"].map(l1000_types) == pert_type]
        for p in planted.itertuples():
            if int(p.entrez_id) not in gene_pos:
                continue  # the planted gene is not measured in Level 3 (an output-only gene)
            sel = (rows.gene == gene_pos[int(p.entrez_id)]) & (rows.direction == p.direction) & rows.top_cd
            total += 1
            hits += p.pert_id in set(pert_of[rows.signature[sel]])
            chance += np.mean([p.pert_id in set(labels[rows.signature[sel]]) for labels in shuffled])
    return hits / total, chance / total, total


@pytest.mark.parametrize("controls", ["all", "vehicle"])
def test_recall_at_10_of_planted_perturbagens_is_high(tiny_world, controls):
    recall, chance, n_pairs = _recall_at_10(tiny_world, controls)
    print(f"recall@10 ({controls} controls) = {recall:.3f} (chance {chance:.3f}) over {n_pairs} planted (gene, direction) pairs")
    assert n_pairs >= 50
    # Floor: 0.6 and chance + 0.2. Chance (the same lists with the
    # perturbagen labels shuffled) is what a CD unrelated to the planted effects
    # would score; a perturbagen has 4 signatures (2 doses x 2 times), some at a
    # low dose where the planted Hill-curve effect is weak, so a perfect score is
    # not expected. Observed: 0.87 (all controls) and 0.98 (vehicle controls),
    # chance 0.57 (the tiny world has few signatures per type, so a
    # random list of 10 often holds one of them); see docs/signatures.md.
    assert recall >= 0.6
    assert recall >= chance + 0.2
