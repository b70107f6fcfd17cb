"""Are the planted perturbagens found? RNA-seq-like signatures against raw L1000 ones.

Runs on a data directory where `manage.py demo` has been built (the synthetic
world, its L1000 dataset and the converted RNA-seq-like dataset). It computes
a second release from the raw L1000 Level 3 profiles of the same world (once;
reused afterwards), then, for every planted effect of the truth table
(perturbagen, cell line, gene, direction), asks the question the search
answers: is a signature of that perturbagen in that cell line among the gene's
top 10 signatures of its perturbation type in the planted direction, ranked
by CD? Two ways, as a researcher would look:

- unfiltered: the top 10 over every cell line;
- filtered: the top 10 among the signatures of the planted cell line (the
  search's exact filtered query).

Recall@10 is reported per gene class: measured landmarks, genes CMap infers
(present in the Level 3 file) and genes only the model predicts (absent from
L1000 altogether: raw L1000 cannot find these at all, which is the point of
the conversion).

    DATA_DIR=/path/with/demo .venv/bin/python bench/bench_planted_recall.py [--prefix demo-demo]
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "l1kweb.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from conversion.models import Dataset  # noqa: E402
from signatures.models import Release, ReleaseStatus, Signature  # noqa: E402
from signatures.store import open_store  # noqa: E402

TOP = 10
TYPES = {"trt_cp": "chemical", "trt_xpr": "crispr"}


def release_for(dataset: Dataset, name: str) -> Release:
    release = Release.objects.filter(name=name).first()
    if release is None or release.status != ReleaseStatus.COMPLETE:
        call_command("compute_signatures", dataset.name, release=name, **({"resume": name} if release else {}))
    release = Release.objects.get(name=name)
    if not release.index_built:
        call_command("build_index", name)
    return Release.objects.get(name=name)


def recall(release: Release, truth: pd.DataFrame, gene_class: dict[int, str], *, shuffle_seed: int | None = None) -> pd.DataFrame:
    """One row per planted effect: hit (1/0) in the unfiltered and the cell-line-filtered top 10.

    With `shuffle_seed`, perturbagen labels are permuted among the signatures of
    each type and cell line first: the recall that chance alone gives with the
    same numbers of signatures per list.
    """
    sigs = pd.DataFrame.from_records(
        Signature.objects.filter(release=release).values_list("column", "pert_id", "pert_type", "cell_line__name"),
        columns=["column", "pert_id", "pert_type", "cell_line"],
    ).set_index("column").sort_index()
    if shuffle_seed is not None:
        rng = np.random.default_rng(shuffle_seed)
        sigs["pert_id"] = sigs.groupby(["pert_type", "cell_line"])["pert_id"].transform(lambda s: rng.permutation(s.to_numpy()))
    rows = []
    with open_store(Path(settings.DATA_DIR) / release.directory) as store:
        for effect in truth.itertuples():
            kind = TYPES[effect.pert_type]
            if not store.has_gene(effect.entrez_id):
                rows.append((gene_class[effect.entrez_id], np.nan, np.nan))
                continue
            cd = store.read_gene(effect.entrez_id).cd
            sign = 1.0 if effect.direction == "up" else -1.0
            hits = []
            for restrict_cell in (False, True):
                keep = (sigs.pert_type == kind).to_numpy().copy()
                if restrict_cell:
                    keep &= (sigs.cell_line == effect.cell_id).to_numpy()
                cols = np.flatnonzero(keep & (sign * cd[sigs.index.to_numpy()] > 0))
                best = cols[np.argsort(-sign * cd[cols], kind="stable")[:TOP]]
                chosen = sigs.iloc[best]
                hits.append(float(((chosen.pert_id == effect.pert_id) & (chosen.cell_line == effect.cell_id)).any()))
            rows.append((gene_class[effect.entrez_id], *hits))
    return pd.DataFrame(rows, columns=["class", "unfiltered", "filtered"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prefix", default="demo-demo", help="The demo's name prefix (default demo-demo, i.e. size demo, seed 0).")
    args = parser.parse_args()
    world = json.loads((Path(settings.DATA_DIR) / "demo" / args.prefix / "world" / "manifest.json").read_text())
    truth = pd.read_csv(world["truth"], sep="\t")
    l1000_genes = pd.read_csv(world["gene_info"], sep="\t")
    landmarks = set(world["landmark_entrez_ids"])
    inferred = set(l1000_genes.pr_gene_id.astype(int)) - landmarks
    gene_class = {g: ("landmark" if g in landmarks else "inferred" if g in inferred else "model-only") for g in truth.entrez_id}

    converted = release_for(Dataset.objects.get(name=f"{args.prefix}-rnaseq-like"), f"{args.prefix}-signatures")
    raw = release_for(Dataset.objects.get(name=f"{args.prefix}-l1000"), f"{args.prefix}-l1000-signatures")

    results = {
        "RNA-seq-like": recall(converted, truth, gene_class),
        "raw L1000": recall(raw, truth, gene_class),
        "chance (RNA-seq-like, labels shuffled)": pd.concat([recall(converted, truth, gene_class, shuffle_seed=s) for s in range(5)]),
    }
    truth_type = truth.pert_type.map(TYPES).to_numpy()
    for name, frame in results.items():
        frame["type"] = np.tile(truth_type, len(frame) // len(truth))
    print(f"{len(truth)} planted effects; recall@{TOP} by CD (hit = a signature of the planted perturbagen in the planted cell line):")
    print("| perturbation type | gene class | effects | " + " | ".join(f"{n}: all cell lines / planted cell line" for n in results) + " |")
    print("| --- | --- | --- | " + " | ".join("---" for _ in results) + " |")
    for kind in ("chemical", "crispr"):
        for cls in ("landmark", "inferred", "model-only", "all"):
            cells = []
            for frame in results.values():
                sub = frame[(frame["type"] == kind) & ((frame["class"] == cls) if cls != "all" else True)]
                measured = sub.dropna()
                cells.append("not in the data" if measured.empty else f"{measured.unfiltered.mean():.2f} / {measured.filtered.mean():.2f}")
            n = int(((truth_type == kind) & (np.array([gene_class[g] for g in truth.entrez_id]) == cls)).sum()) if cls != "all" else int((truth_type == kind).sum())
            print(f"| {kind} | {cls} | {n} | " + " | ".join(cells) + " |")

if __name__ == "__main__":
    main()
