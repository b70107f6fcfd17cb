"""Rows for signature tests: a registered dataset from the tiny synthetic world."""

from pathlib import Path

import pandas as pd

from conversion.datasets import register_dataset


def tiny_l1000_dataset(world, name="tiny-l1000"):
    meta = pd.read_csv(world["inst_info"], sep="\t")
    return register_dataset(name, world["l1000"], kind="l1000", metadata=meta, description="tiny synthetic world")


def wide_l1000_dataset(directory, *, name="wide-l1000", n_plates=8, n_compounds=240, n_knockouts=60, n_controls=16, n_genes=3000, seed=0):
    """A dataset of single-replicate plates with many signatures, for steps that must take a while.

    Each plate (its own batch) holds one well per compound, one per knockout
    and `n_controls` DMSO wells, A375, 10 uM, 24 h; values are random log2
    expression. With min_replicates=1 it gives n_plates x (n_compounds +
    n_knockouts) signatures over `n_genes` genes. The matrix is written under
    `directory` (put it in DATA_DIR so that worker processes read it too).
    """
    import numpy as np

    from conversion.formats.gctx import write_gctx

    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_plates):
        plate = f"WIDE{p:03d}_A375_24H_X1"
        wells = (
            [(f"BRD-W{c:05d}", f"compound{c}", "trt_cp", 10.0, "uM") for c in range(n_compounds)]
            + [(f"XPR-W{k:04d}", f"GENE{k}", "trt_xpr", None, "") for k in range(n_knockouts)]
            + [("DMSO", "DMSO", "ctl_vehicle", None, "")] * n_controls
        )
        for w, (pert_id, pert_iname, pert_type, dose, dose_unit) in enumerate(wells):
            rows.append({
                "inst_id": f"{plate}:{w:04d}", "cell_id": "A375", "pert_id": pert_id, "pert_iname": pert_iname, "pert_type": pert_type,
                "pert_dose": dose if dose is not None else -666, "pert_dose_unit": dose_unit or -666, "pert_time": 24, "pert_time_unit": "h",
                "rna_plate": plate, "rna_well": f"{w:04d}",
            })  # fmt: skip
    meta = pd.DataFrame(rows)
    entrez = np.arange(100_001, 100_001 + n_genes)
    values = (8 + rng.standard_normal((len(meta), n_genes))).astype(np.float32)  # (profiles, genes)
    row_meta = pd.DataFrame({"pr_gene_id": entrez, "pr_gene_symbol": [f"WG{i}" for i in range(n_genes)]}, index=[str(e) for e in entrez])
    path = write_gctx(Path(directory) / f"{name}.gctx", values, [str(e) for e in entrez], list(meta["inst_id"]), row_meta=row_meta)
    return register_dataset(name, path, kind="l1000", metadata=meta, description="wide synthetic plates")
