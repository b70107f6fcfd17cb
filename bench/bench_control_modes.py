"""Which control set serves a user: top-10 down-regulators of MAPK-pathway genes on the real fixture plate.

The fixture plate (LJP005, A375, 24 h, single replicates; `../shared/fixtures/cmapPy_tests/test_l1000.gct`)
holds kinase inhibitors at several doses, MEK and BRAF inhibitors among them. In A375 (BRAF V600E)
those inhibitors lower the MAPK output genes (DUSP6, FOSL1, ETV4/5, SPRY2/4, ...), so a useful
ranking puts them at the top of those genes' down lists. For each control mode this prints, per gene,
how many of the 10 strongest down-regulating signatures (by CD and by log2FC) are MEK or BRAF
inhibitors (HSP90 inhibitors, which degrade BRAF, counted apart), and the names.

    .venv/bin/python bench/bench_control_modes.py
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from signatures.batches import compute_batch, plan_batches  # noqa: E402
from tests.signatures.fixture_plate import _read  # noqa: E402

MEK_BRAF = {"AZD-8330", "PD-0325901", "PD-184352", "trametinib", "PLX-4720", "vemurafenib"}  # MEK: first four; BRAF: last two
HSP90 = {"geldanamycin", "radicicol"}
GENES = ["DUSP6", "FOSL1", "ETV4", "ETV5", "SPRY2", "SPRY4", "DUSP4", "CCND1", "EGR1", "PHLDA1"]


def main():
    matrix, row_ids, col_ids, row_meta, col_meta = _read()
    meta = col_meta.loc[list(col_ids)].reset_index(names="inst_id")
    symbols = list(row_meta.loc[list(row_ids), "pr_gene_symbol"])
    genes = [g for g in GENES if g in symbols]
    print(f"fixture plate: {matrix.shape[0]} profiles x {matrix.shape[1]} genes; {int((meta.pert_type == 'ctl_vehicle').sum())} vehicle (DMSO) wells")
    print(f"MEK/BRAF inhibitors on the plate: {', '.join(sorted(MEK_BRAF & set(meta.pert_iname)))}; HSP90: {', '.join(sorted(HSP90 & set(meta.pert_iname)))}")
    print("| gene | controls | MEK/BRAF (+HSP90) in top 10 by CD | by log2FC |")
    print("| --- | --- | --- | --- |")
    totals = {}
    for controls in ("all", "vehicle"):
        plan = plan_batches(meta, controls=controls, min_replicates=1)
        (batch,) = plan.batches
        cd, fc = compute_batch(matrix[batch.positions], batch)
        names = np.array([g.pert_name for g in batch.groups])
        for gene in genes:
            gi = symbols.index(gene)
            counts = []
            for values in (cd[:, gi], fc[:, gi]):
                top = names[np.argsort(values, kind="stable")[:10]]
                counts.append((sum(n in MEK_BRAF for n in top), sum(n in HSP90 for n in top)))
            totals.setdefault(controls, [0, 0])
            totals[controls][0] += counts[0][0]
            totals[controls][1] += counts[1][0]
            print(f"| {gene} | {controls} | {counts[0][0]} (+{counts[0][1]}) | {counts[1][0]} (+{counts[1][1]}) |")
    for controls, (by_cd, by_fc) in totals.items():
        print(f"{controls}: {by_cd} MEK/BRAF inhibitors in the {10 * len(genes)} top-10 places by CD, {by_fc} by log2FC")


if __name__ == "__main__":
    main()
