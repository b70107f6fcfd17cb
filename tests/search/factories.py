"""Rows and a real signature store for the search tests.

`make_release` writes a small release the way the signatures pipeline would:
Gene, CellLine, Signature rows, a store written with signatures.store.write_store,
and GeneTopEntry rows for a top-N index (N small, so that paging past the index
and filters that reach beyond it are exercised). The index rows come from
`reference_list`, a plain-Python ranking written independently of
search.ranking, which the tests also use as their reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from conversion.models import Dataset, DatasetKind
from conversion.models import AliasKind, Gene, GeneAlias, GeneStatus
from signatures.models import CellLine, GeneReliability, GeneTopEntry, Release, ReleaseStatus, Signature
from signatures.store import write_store

CELL_LINES = ["A375", "A549", "MCF7", "PC3"]
KNOCKOUT_TARGETS = ["TP53", "MYC", "STAT3", "BRCA1"]  # the gene knocked out by CRISPR signature j: j // 3 mod 4 (one perturbagen per signature)
MOAS = [("MEK inhibitor", "MAP2K1|MAP2K2"), ("HDAC inhibitor", "HDAC1"), ("", ""), ("CDK inhibitor|Tubulin inhibitor", "CDK2")]
# Gene-wise Pearson r of the release's model on its paired evaluation (signatures.GeneReliability); MYC is below the warning level.
RELIABILITY = {"STAT3": 0.82, "SFRP2": 0.55, "TP53": 0.71, "CDKN1A": 0.64, "PTGS2": 0.41, "STAT1": 0.38, "STAT4": 0.33, "IL6": 0.47, "MYC": 0.12, "BRCA1": 0.36}
PAIRED_SET = {"n_samples": 40, "paired_set": "gtex_l1000.gctx + gtex_rnaseq.gctx (log2)", "evaluated_at": "2026-12-01T10:00:00+00:00"}
CONVERSION = {"model_version": "1.0", "device": "cpu", "compute_precision": "fp32", "stored_as": "float32"}
GENES = [
    # entrez, symbol, status, in_model_output
    (6774, "STAT3", GeneStatus.LANDMARK, True),
    (6423, "SFRP2", GeneStatus.INFERRED, True),
    (7157, "TP53", GeneStatus.LANDMARK, True),
    (1026, "CDKN1A", GeneStatus.INFERRED, True),
    (5743, "PTGS2", GeneStatus.MODEL_ONLY, True),
    (6772, "STAT1", GeneStatus.MODEL_ONLY, True),
    (6775, "STAT4", GeneStatus.MODEL_ONLY, True),
    (3569, "IL6", GeneStatus.MODEL_ONLY, True),
    (4609, "MYC", GeneStatus.LANDMARK, True),
    (672, "BRCA1", GeneStatus.MODEL_ONLY, True),
    (999001, "NOTOUT1", GeneStatus.OTHER, False),
]


@dataclass
class World:
    release: Release
    genes: dict[str, Gene]
    gene_ids: np.ndarray  # (n_genes,) store gene order
    cd: np.ndarray  # (n_sigs, n_genes)
    logfc: np.ndarray
    signatures: list[Signature]  # in column order
    top_n: int

    def column_of(self, symbol: str) -> int:
        return int(np.flatnonzero(self.gene_ids == self.genes[symbol].entrez_id)[0])


def make_genes() -> dict[str, Gene]:
    genes = {sym: Gene.objects.create(entrez_id=e, symbol=sym, name=f"{sym} protein", status=st, in_model_output=out, ensembl_id=f"ENSG{e:011d}") for e, sym, st, out in GENES}
    GeneAlias.objects.create(gene=genes["SFRP2"], alias="SARP1", kind=AliasKind.SYNONYM)
    GeneAlias.objects.create(gene=genes["CDKN1A"], alias="P21", kind=AliasKind.SYNONYM)
    GeneAlias.objects.create(gene=genes["CDKN1A"], alias="CIP1", kind=AliasKind.PREVIOUS)
    # An alias shared by two genes: ambiguous.
    GeneAlias.objects.create(gene=genes["STAT1"], alias="ISGF-3", kind=AliasKind.SYNONYM)
    GeneAlias.objects.create(gene=genes["STAT4"], alias="ISGF-3", kind=AliasKind.SYNONYM)
    return genes


def gene_ranks_up(cd: np.ndarray) -> np.ndarray:
    """1 + the number of genes with a larger coefficient in the same signature: (n_sigs, n_genes).

    A gene without a coefficient (NaN) has rank 0 and counts, for the others, as a coefficient of 0.
    """
    filled = np.nan_to_num(cd, nan=0.0)
    below = (filled[:, None, :] > filled[:, :, None]).sum(axis=2)
    ties = (filled[:, None, :] == filled[:, :, None]) & (np.arange(cd.shape[1])[None, None, :] < np.arange(cd.shape[1])[None, :, None])
    return np.where(np.isnan(cd), 0, 1 + below + ties.sum(axis=2))


def reference_list(cd, logfc, rank_up, columns, n_genes, *, direction, metric):
    """Columns regulating the gene in `direction`, best first, by a plain sort (ranks tie by |CD|, then by column)."""
    items = []
    for c in columns:
        if (cd[c] > 0) if direction == "up" else (cd[c] < 0):
            rank = int(rank_up[c]) if direction == "up" else n_genes + 1 - int(rank_up[c])
            value = {"cd": float(cd[c]), "logfc": float(logfc[c]), "rank": rank}[metric]
            # rank ties break by larger |CD| (rank - a / (2 (1 + a)), a = |CD|, in float64), every tie left by column
            a = abs(float(cd[c]))
            key = rank - 0.5 * (a / (1.0 + a)) if metric == "rank" else (-value if direction == "up" else value)
            items.append((key, int(c)))
    return [c for _, c in sorted(items)]


def make_release(data_dir, *, n_sigs=60, top_n=8, seed=0, name="r1", active=True, genes=None, n_perturbagens=None, constant_gene=None) -> World:
    """`n_perturbagens`: signature j is of perturbagen j mod n_perturbagens (default: one perturbagen per signature).
    `constant_gene`: a symbol the model predicts as constant in every other signature (no CD there, log2FC 0)."""
    genes = genes or make_genes()
    rng = np.random.default_rng(seed)
    in_store = [g for g in genes.values() if g.in_model_output]
    gene_ids = np.array([g.entrez_id for g in in_store], dtype=np.int64)
    n_genes = len(gene_ids)
    cd = rng.standard_normal((n_sigs, n_genes)).astype(np.float32)
    cd /= np.linalg.norm(cd, axis=1, keepdims=True)
    # log2FC mostly agrees with CD in sign; about one in six disagrees (discordant).
    logfc = (cd * rng.uniform(2, 6, size=cd.shape) + rng.normal(0, 0.3, size=cd.shape)).astype(np.float32)
    if constant_gene is not None:
        gi = [g.symbol for g in in_store].index(constant_gene)
        cd[::2, gi], logfc[::2, gi] = np.nan, 0.0
    dataset = Dataset.objects.create(name=f"ds-{name}", kind=DatasetKind.RNASEQ_LIKE, path=f"{name}.gctx", n_profiles=n_sigs * 3, n_genes=n_genes)
    release = Release.objects.create(
        name=name, dataset=dataset, status=ReleaseStatus.COMPLETE, is_active=active, directory=f"releases/{name}", model_version="two-step 1.0 (tiny)",
        n_signatures=n_sigs, n_genes=n_genes, index_built=True, params={"top_n": top_n},
        reliability={**PAIRED_SET, "model": "two-step 1.0", "n_genes": len(in_store)}, conversion=CONVERSION,
    )
    GeneReliability.objects.bulk_create([GeneReliability(release=release, entrez_id=g.entrez_id, pcc=RELIABILITY[g.symbol], rmse=1.0) for g in in_store])
    cells = {c: CellLine.objects.get_or_create(name=c)[0] for c in CELL_LINES}
    sigs = []
    for j in range(n_sigs):
        crispr = j % 3 == 0
        cell = CELL_LINES[j % len(CELL_LINES)]
        p = j if n_perturbagens is None else j % n_perturbagens
        pert_id = f"{'XPR' if crispr else 'BRD'}-{p:04d}"
        sigs.append(Signature(
            release=release, sig_id=f"{name.upper()}_{cell}_24H:{pert_id}:{'' if crispr else 10}:{j}", column=j,
            pert_type="crispr" if crispr else "chemical", pert_id=pert_id, pert_name=f"{'KO' if crispr else 'drug'}{p}",
            cell_line=cells[cell], dose=None if crispr else float([1, 10][j % 2]), dose_unit="" if crispr else "uM", time=float([6, 24][(j // 2) % 2]), time_unit="h",
            batch=f"PLATE{j % 5}", n_replicates=3 + j % 2, n_controls=12,
            target_gene=KNOCKOUT_TARGETS[p % len(KNOCKOUT_TARGETS)] if crispr else "",
            pert_moa="" if crispr else MOAS[p % len(MOAS)][0], pert_targets="" if crispr else MOAS[p % len(MOAS)][1],
        ))
    Signature.objects.bulk_create(sigs)
    write_store(data_dir / "releases" / name, gene_ids, [s.sig_id for s in sigs], cd, logfc, symbols=[g.symbol for g in in_store])
    rank_up = gene_ranks_up(cd)
    entries = []
    for gi, gene_id in enumerate(gene_ids):
        for t in ("crispr", "chemical"):
            cols = [s.column for s in sigs if s.pert_type == t]
            for direction in ("up", "down"):
                tops = {m: set(reference_list(cd[:, gi], logfc[:, gi], rank_up[:, gi], cols, n_genes, direction=direction, metric=m)[:top_n]) for m in ("cd", "logfc", "rank")}
                for c in sorted(set().union(*tops.values())):
                    entries.append(GeneTopEntry(
                        release=release, gene_id=int(gene_id), pert_type=t, direction=direction, signature=sigs[c], cd=float(cd[c, gi]), logfc=float(logfc[c, gi]),
                        rank=int(rank_up[c, gi]) if direction == "up" else n_genes + 1 - int(rank_up[c, gi]),
                        top_cd=c in tops["cd"], top_logfc=c in tops["logfc"], top_rank=c in tops["rank"],
                    ))
    GeneTopEntry.objects.bulk_create(entries)
    return World(release=release, genes=genes, gene_ids=gene_ids, cd=cd, logfc=logfc, signatures=sigs, top_n=top_n)
