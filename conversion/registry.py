"""The gene registry: load genes, their aliases and statuses from CMap and NCBI tables.

Sources, joined by Entrez id (never by symbol):
- CMap `gene_info` (pr_gene_id, pr_gene_symbol, pr_is_lm, pr_is_bing) or the
  LINCS 2020 `geneinfo_beta` (read_gene_info gives it the same names): which
  genes L1000 measured (landmarks) or inferred (BING or not: both are
  `inferred` here). Its symbols may be years old; a symbol that NCBI has since
  replaced is kept as a previous symbol. geneinfo_beta's Ensembl ids are used
  where NCBI gives none.
- NCBI `Homo_sapiens.gene_info` (conversion.formats.ncbi): current symbols,
  names, `Synonyms` (aliases) and Ensembl ids in `dbXrefs`, streamed in chunks.

`import_gene_info` is idempotent: it upserts with bulk statements and reports
how many rows it created or changed, so a second run reports zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from django.db import transaction

from conversion.formats.l1000 import read_gene_info
from conversion.formats.ncbi import read_ncbi_gene_info
from conversion.models import AliasKind, Gene, GeneAlias, GeneStatus

BATCH_SIZE = 5000


@dataclass
class ImportSummary:
    genes: int = 0
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    aliases_created: int = 0
    landmarks: int = 0
    inferred: int = 0
    model_output: int = 0
    unmatched_landmarks: list[tuple[int, str]] = field(default_factory=list)  # CMap landmarks NCBI does not list

    def lines(self) -> list[str]:
        out = [
            f"{self.genes} genes: {self.created} created, {self.changed} changed, {self.unchanged} unchanged; "
            f"{self.aliases_created} aliases added.",
            f"{self.landmarks} landmarks, {self.inferred} CMap-inferred, {self.model_output} among the model's output genes.",
        ]
        if self.unmatched_landmarks:
            shown = ", ".join(f"{sym} ({eid})" for eid, sym in self.unmatched_landmarks[:20])
            out.append(f"{len(self.unmatched_landmarks)} landmarks are not in the NCBI file (kept with their CMap symbol): {shown}.")
        return out


def import_gene_info(path, *, ncbi_path=None, output_entrez_ids=None, progress=None) -> ImportSummary:
    """Load CMap gene_info (and optionally the NCBI file and the model's output genes) into Gene/GeneAlias.

    `path` may also be an NCBI gene_info file on its own (detected by its
    GeneID column). Returns counts of what changed.
    """
    path = Path(path)
    cmap = None
    if _is_ncbi(path):
        ncbi_path = ncbi_path or path
    else:
        cmap = read_gene_info(path)
    outputs = None if output_entrez_ids is None else {int(e) for e in output_entrez_ids}

    # entrez -> [symbol, name, ensembl, status, in_output]; aliases as (entrez, alias, kind).
    genes: dict[int, list] = {}
    aliases: dict[tuple[int, str], str] = {}
    cmap_symbol: dict[int, str] = {}
    ncbi_ids: set[int] = set()
    if cmap is not None:
        titles = _text_column(cmap, "pr_gene_title")
        ensembl = _text_column(cmap, "ensembl_id")  # geneinfo_beta only
        for eid, sym, title, ens, lm in zip(cmap.pr_gene_id, cmap.pr_gene_symbol, titles, ensembl, cmap.pr_is_lm):
            status = GeneStatus.LANDMARK if lm else GeneStatus.INFERRED
            genes[int(eid)] = [str(sym), title[:300], ens[:32], status, False]
            cmap_symbol[int(eid)] = str(sym)
    if ncbi_path is not None:
        for chunk in read_ncbi_gene_info(ncbi_path):
            for eid, sym, syns, ens, name in chunk.itertuples(index=False):
                ncbi_ids.add(int(eid))
                row = genes.setdefault(int(eid), ["", "", "", GeneStatus.OTHER, False])
                row[0], row[1] = sym, (name or row[1])[:300]
                if ens:
                    row[2] = ens[0]
                    for extra in ens[1:]:
                        aliases[(int(eid), extra)] = AliasKind.ENSEMBL
                old = cmap_symbol.get(int(eid))
                for syn in syns:
                    if syn != sym:
                        aliases[(int(eid), syn[:64])] = AliasKind.PREVIOUS if syn == old else AliasKind.SYNONYM
            if progress is not None:
                progress(len(chunk))
    summary = ImportSummary()
    for eid, old in cmap_symbol.items():
        current = genes[eid][0]
        if current != old:
            aliases[(eid, old[:64])] = AliasKind.PREVIOUS  # symbols drift: the CMap symbol stays findable
    if ncbi_path is not None and cmap is not None:
        summary.unmatched_landmarks = [
            (eid, cmap_symbol[eid]) for eid in sorted(cmap_symbol) if genes[eid][3] == GeneStatus.LANDMARK and eid not in ncbi_ids
        ]

    existing = {g.entrez_id: g for g in Gene.objects.filter(entrez_id__in=list(genes))}
    rows = []
    for eid, (sym, name, ens, status, _) in genes.items():
        old = existing.get(eid)
        if ncbi_path is None and old is not None and old.symbol != sym:
            # A CMap table alone never renames a gene the registry already knows
            # (its current symbol came from NCBI); the CMap symbol stays findable.
            aliases[(eid, sym[:64])] = AliasKind.PREVIOUS
            sym, name = old.symbol, old.name or name
        in_output = (eid in outputs) if outputs is not None else (old.in_model_output if old else False)
        if status == GeneStatus.OTHER and in_output:
            status = GeneStatus.MODEL_ONLY
        gene = Gene(entrez_id=eid, symbol=sym[:64], name=name, ensembl_id=ens or (old.ensembl_id if old else ""), status=status, in_model_output=in_output)
        if old is None:
            summary.created += 1
        elif (old.symbol, old.name, old.ensembl_id, old.status, old.in_model_output) != (gene.symbol, gene.name, gene.ensembl_id, gene.status, gene.in_model_output):
            summary.changed += 1
        else:
            summary.unchanged += 1
            continue
        rows.append(gene)
    summary.genes = len(genes)
    summary.landmarks = sum(1 for r in genes.values() if r[3] == GeneStatus.LANDMARK)
    summary.inferred = sum(1 for r in genes.values() if r[3] == GeneStatus.INFERRED)
    summary.model_output = len(outputs & set(genes)) if outputs is not None else sum(1 for g in existing.values() if g.in_model_output)

    with transaction.atomic():
        for lo in range(0, len(rows), BATCH_SIZE):
            Gene.objects.bulk_create(
                rows[lo : lo + BATCH_SIZE],
                update_conflicts=True,
                unique_fields=["entrez_id"],
                update_fields=["symbol", "name", "ensembl_id", "status", "in_model_output"],
            )
        summary.aliases_created = _upsert_aliases(aliases)
    return summary


def _text_column(table: pd.DataFrame, column: str) -> pd.Series:
    """A column as text, "" where missing or where the table has no such column."""
    if column not in table.columns:
        return pd.Series("", index=table.index, dtype=object)
    return table[column].astype(object).where(table[column].notna(), "").astype(str)


def _is_ncbi(path: Path) -> bool:
    with open(path, "rb") as fh:
        header = fh.readline().decode("latin-1")
    return "GeneID" in header.split("\t")


def _upsert_aliases(aliases: dict[tuple[int, str], str]) -> int:
    """Insert new (gene, alias) pairs and update changed kinds; returns the number created."""
    if not aliases:
        return 0
    genes = sorted({eid for eid, _ in aliases})
    existing: dict[tuple[int, str], str] = {}
    for lo in range(0, len(genes), BATCH_SIZE):
        for gene_id, alias, kind in GeneAlias.objects.filter(gene_id__in=genes[lo : lo + BATCH_SIZE]).values_list("gene_id", "alias", "kind"):
            existing[(gene_id, alias)] = kind
    todo = [GeneAlias(gene_id=eid, alias=alias, kind=kind) for (eid, alias), kind in aliases.items() if existing.get((eid, alias)) != kind]
    created = sum(1 for (eid, alias) in aliases if (eid, alias) not in existing)
    for lo in range(0, len(todo), BATCH_SIZE):
        GeneAlias.objects.bulk_create(todo[lo : lo + BATCH_SIZE], update_conflicts=True, unique_fields=["gene", "alias"], update_fields=["kind"])
    return created


def mark_model_output(entrez_ids) -> int:
    """Flag the translator's output genes (in_model_output, and model_only status where L1000 never saw them)."""
    ids = sorted({int(e) for e in entrez_ids})
    with transaction.atomic():
        Gene.objects.exclude(entrez_id__in=ids).filter(in_model_output=True).update(in_model_output=False)
        n = Gene.objects.filter(entrez_id__in=ids).update(in_model_output=True)
        Gene.objects.filter(entrez_id__in=ids, status=GeneStatus.OTHER).update(status=GeneStatus.MODEL_ONLY)
        Gene.objects.filter(in_model_output=False, status=GeneStatus.MODEL_ONLY).update(status=GeneStatus.OTHER)
    return n
