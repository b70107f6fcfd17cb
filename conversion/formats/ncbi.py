"""NCBI `Homo_sapiens.gene_info`, and the join it gives from symbols and Ensembl ids to Entrez ids.

The file is tab-separated, one row per gene: `#tax_id`, `GeneID`, `Symbol`,
`Synonyms` ('|'-joined, '-' for none), `dbXrefs` ('|'-joined, Ensembl ids as
`Ensembl:ENSG...`), `description`, and more that are not read. The real file
has about 190,000 rows; it is streamed in chunks.

`GeneMap` is the one rule for finding a gene's Entrez id from what other
sources call it (ARCHS4 keys genes by symbol and Ensembl id): the Ensembl id
first, then the current symbol, then a synonym or previous symbol that names
only one gene. It is built from this file (`read_gene_map`) or from the gene
registry in the database (`conversion.training.gene_map_from_registry`), with
the same constructor.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from conversion.formats.errors import FormatError

REQUIRED_COLUMNS = ("GeneID", "Symbol", "Synonyms")
OPTIONAL_COLUMNS = ("dbXrefs", "description")


def read_ncbi_gene_info(path, *, chunksize: int = 50_000, tax_id: int | None = 9606) -> Iterator[pd.DataFrame]:
    """Yield DataFrames of gene rows: entrez_id (int64), symbol, synonyms (list), ensembl (list), name."""
    path = Path(path)
    if not path.exists():
        raise FormatError(f"NCBI gene_info file {path} does not exist.", path=path)
    reader = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, chunksize=chunksize, compression="infer", encoding="latin-1")
    for chunk in reader:
        chunk.columns = [c.lstrip("#") for c in chunk.columns]
        missing = [c for c in REQUIRED_COLUMNS if c not in chunk.columns]
        if missing:
            raise FormatError(
                f"NCBI gene_info file {path}: expected columns {', '.join(REQUIRED_COLUMNS)}, found no {', '.join(missing)} "
                f"(columns: {', '.join(map(str, chunk.columns[:8]))}).",
                path=path,
            )
        if tax_id is not None and "tax_id" in chunk.columns:
            chunk = chunk[chunk["tax_id"] == str(tax_id)]
        ids = pd.to_numeric(chunk["GeneID"], errors="coerce")
        if ids.isna().any():
            raise FormatError(f"NCBI gene_info file {path}: expected integer GeneIDs, found {chunk.loc[ids.isna(), 'GeneID'].iloc[0][:40]!r}.", path=path)
        xrefs = chunk["dbXrefs"] if "dbXrefs" in chunk.columns else pd.Series("", index=chunk.index)
        names = chunk["description"] if "description" in chunk.columns else pd.Series("", index=chunk.index)
        yield pd.DataFrame(
            {
                "entrez_id": ids.astype(np.int64).to_numpy(),
                "symbol": chunk["Symbol"].to_numpy(),
                "synonyms": [_split(s) for s in chunk["Synonyms"]],
                "ensembl": [[x.split(":", 1)[1] for x in _split(d) if x.startswith("Ensembl:")] for d in xrefs],
                "name": [d if d != "-" else "" for d in names],
            }
        )


def _split(value: str) -> list[str]:
    return [] if value in ("", "-") else [v for v in value.split("|") if v and v != "-"]


@dataclass
class GeneMap:
    """Entrez ids (as str) by Ensembl id, current symbol and unambiguous synonym; current symbol by Entrez id."""

    symbol_of: dict[str, str]
    by_ensembl: dict[str, str]
    by_symbol: dict[str, str]
    by_synonym: dict[str, str]

    def entrez(self, symbol: str, ensembl: str = "") -> str | None:
        ensembl = ensembl.split(".")[0]  # ENSG00000141510.17 -> ENSG00000141510
        return self.by_ensembl.get(ensembl) or self.by_symbol.get(symbol) or self.by_synonym.get(symbol)

    @classmethod
    def build(cls, genes: Iterable[tuple[int | str, str, Iterable[str], Iterable[str]]]) -> GeneMap:
        """From (entrez id, current symbol, Ensembl ids, synonyms and previous symbols) per gene.

        An Ensembl id keeps its first gene. A synonym shared by several genes
        identifies none of them, and a current symbol wins over any synonym.
        """
        symbol_of: dict[str, str] = {}
        by_symbol: dict[str, str] = {}
        by_ensembl: dict[str, str] = {}
        owners: dict[str, set[str]] = {}
        for entrez, symbol, ensembl_ids, synonyms in genes:
            entrez = str(entrez)
            symbol_of[entrez] = symbol
            by_symbol[symbol] = entrez
            for ensembl in ensembl_ids:
                by_ensembl.setdefault(ensembl, entrez)
            for synonym in synonyms:
                owners.setdefault(synonym, set()).add(entrez)
        by_synonym = {s: next(iter(ids)) for s, ids in owners.items() if len(ids) == 1 and s not in by_symbol}
        return cls(symbol_of, by_ensembl, by_symbol, by_synonym)


def read_gene_map(path) -> GeneMap:
    """The GeneMap of an NCBI Homo_sapiens.gene_info file."""
    return GeneMap.build(
        (eid, symbol, ensembl, synonyms)
        for chunk in read_ncbi_gene_info(path)
        for eid, symbol, synonyms, ensembl in zip(chunk.entrez_id, chunk.symbol, chunk.synonyms, chunk.ensembl)
    )
