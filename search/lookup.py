"""Gene lookup: symbols, aliases, previous symbols, Entrez and Ensembl ids.

`resolve` turns what a researcher typed into one gene, several (an alias that
names more than one gene) or none, with the closest symbols as suggestions
(`resolve_many` does it for a pasted list at once);
`autocomplete` serves the search box. Every query is case-insensitive and
parameterised; nothing typed ever reaches SQL as text.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from django.db import connection
from django.db.models.functions import Upper

from conversion.models import AliasKind, Gene, GeneAlias
from search.compiled_query import CompiledQuery

MAX_QUERY_LENGTH = 64
ENSEMBL_RE = re.compile(r"^ENSG\d{6,}(\.\d+)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Match:
    gene: Gene
    via: str  # "symbol", "entrez", "ensembl", "synonym" or "previous"
    alias: str = ""  # what matched when it was not the symbol itself


@dataclass
class Resolution:
    query: str
    matches: list[Match] = field(default_factory=list)
    suggestions: list[Gene] = field(default_factory=list)

    @property
    def gene(self) -> Gene | None:
        return self.matches[0].gene if len(self.matches) == 1 else None

    @property
    def match(self) -> Match | None:
        return self.matches[0] if len(self.matches) == 1 else None

    @property
    def ambiguous(self) -> bool:
        return len(self.matches) > 1

    def message(self) -> str:
        if self.ambiguous:
            names = ", ".join(f"{m.gene.symbol} (Entrez {m.gene.entrez_id})" for m in self.matches)
            return f"'{self.query}' names more than one gene: {names}."
        if self.gene is not None:
            return f"'{self.query}' is {self.gene.symbol}."
        if not self.query:
            return "Type a gene symbol, alias or Entrez id."
        text = f"Unknown gene '{self.query}'."
        if self.suggestions:
            text += " Did you mean " + " or ".join(g.symbol for g in self.suggestions[:3]) + "?"
        return text


def normalise_query(query) -> str:
    """Trimmed, without control characters (PostgreSQL text cannot hold NUL), cut just past the limit."""
    text = "".join(ch for ch in str(query or "") if ch.isprintable())
    return text.strip()[: MAX_QUERY_LENGTH + 1]


def is_plain_number(text: str) -> bool:
    """ASCII digits only: str.isdigit() also accepts '²', which int() rejects."""
    return text.isascii() and text.isdigit()


def resolve(query, *, suggest: bool = True) -> Resolution:
    """Find the gene `query` names: Entrez id, Ensembl id, symbol, then synonyms and previous symbols."""
    return resolve_many([query], suggest=suggest)[0]


def resolve_many(queries, *, suggest: bool = False) -> list[Resolution]:
    """`resolve` of each query, in order, with one database query per kind of match for all of them.

    Entrez ids, symbols and aliases are each looked up for every query at once
    (a set of 2,000 genes costs three queries, not thousands); Ensembl ids one
    by one, as they are rare in pasted lists.
    """
    results = [Resolution(query=normalise_query(q)) for q in queries]
    numbers: dict[int, list[Resolution]] = {}
    names: dict[str, list[Resolution]] = {}
    for r in results:
        q = r.query
        if not q or len(q) > MAX_QUERY_LENGTH:
            continue
        if is_plain_number(q):
            if len(q) <= 18:
                numbers.setdefault(int(q), []).append(r)
        elif ENSEMBL_RE.match(q):
            stable = q.upper().split(".")[0]
            genes = list(Gene.objects.filter(ensembl_id__iexact=stable)) or [a.gene for a in GeneAlias.objects.filter(alias__iexact=stable, kind=AliasKind.ENSEMBL).select_related("gene")]
            r.matches = [Match(g, "ensembl", stable) for g in _unique(genes)]
        else:
            names.setdefault(q.upper(), []).append(r)
    for gene in Gene.objects.filter(pk__in=list(numbers)) if numbers else ():
        for r in numbers[gene.pk]:
            r.matches = [Match(gene, "entrez", r.query)]
    by_symbol: dict[str, list[Gene]] = {}
    for upper, gene in _genes_by_symbol(list(names)):
        by_symbol.setdefault(upper, []).append(gene)
    for key, genes in by_symbol.items():
        for r in names[key]:
            chosen = genes
            if len(genes) > 1:
                # Two genes share a symbol in any case: the exact spelling decides when it can.
                exact = [g for g in genes if g.symbol == r.query]
                chosen = exact if len(exact) == 1 else genes
            r.matches = [Match(g, "symbol") for g in chosen]
    rest = [key for key in names if key not in by_symbol]
    by_alias: dict[str, dict[int, Match]] = {}
    for a in GeneAlias.objects.annotate(u=Upper("alias")).filter(u__in=rest).select_related("gene").order_by("gene_id") if rest else ():
        by_alias.setdefault(a.u, {}).setdefault(a.gene_id, Match(a.gene, a.kind, a.alias))
    for key, by_gene in by_alias.items():
        matches = list(by_gene.values())
        if len(matches) > 1:
            # A previous symbol outranks a loose synonym.
            previous = [m for m in matches if m.via == AliasKind.PREVIOUS]
            if len(previous) == 1:
                matches = previous
        for r in names[key]:
            r.matches = list(matches)
    if suggest:
        for r in (r for same in names.values() for r in same if not r.matches):
            r.suggestions = suggestions(r.query)
    return results


_GENE_COLUMNS = tuple(f.attname for f in Gene._meta.concrete_fields)
_BY_SYMBOL = CompiledQuery()


def _genes_by_symbol(uppers: list[str]) -> list[tuple[str, Gene]]:
    """(upper-case symbol, gene) of every gene whose symbol is one of `uppers` in any case, by Entrez id."""
    if not uppers:
        return []
    rows = _BY_SYMBOL.rows(
        (len(uppers),),
        lambda: Gene.objects.annotate(u=Upper("symbol")).filter(u__in=uppers).order_by("pk").values_list("u", *_GENE_COLUMNS),
        tuple(uppers),
    )
    return [(row[0], Gene.from_db(connection.alias, _GENE_COLUMNS, row[1:])) for row in rows]


def _unique(genes):
    seen, out = set(), []
    for g in genes:
        if g.pk not in seen:
            seen.add(g.pk)
            out.append(g)
    return out


def suggestions(query: str, n: int = 5) -> list[Gene]:
    """The symbols closest to `query` (difflib ratio >= 0.6), from genes sharing its first letter.

    Only unknown queries pay for this: it reads the few thousand symbols that
    start like the query, never the whole registry.
    """
    q = normalise_query(query).upper()
    if not q:
        return []
    lo, hi = max(1, len(q) - 2), len(q) + 2
    candidates: dict[str, int] = {}
    rows = Gene.objects.annotate(u=Upper("symbol")).filter(u__startswith=q[0]).values_list("u", "entrez_id", "symbol")
    for upper, entrez_id, symbol in rows.iterator(chunk_size=5000):
        if lo <= len(upper) <= hi:
            candidates.setdefault(upper, entrez_id)
    alias_rows = GeneAlias.objects.annotate(u=Upper("alias")).filter(u__startswith=q[0]).exclude(kind=AliasKind.ENSEMBL).values_list("u", "gene_id")
    alias_hits: dict[str, int] = {}
    for upper, gene_id in alias_rows.iterator(chunk_size=5000):
        if lo <= len(upper) <= hi and upper not in candidates:
            alias_hits.setdefault(upper, gene_id)
    close = difflib.get_close_matches(q, list(candidates) + list(alias_hits), n=n * 2, cutoff=0.6)
    ids: list[int] = []
    for name in close:
        gene_id = candidates.get(name) or alias_hits.get(name)
        if gene_id not in ids:
            ids.append(gene_id)
    genes = Gene.objects.in_bulk(ids[:n])
    return [genes[i] for i in ids[:n] if i in genes]


def autocomplete(query, *, limit: int = 10) -> list[dict]:
    """Genes whose symbol, alias or Entrez id starts with `query`: exact matches first, then shortest."""
    q = normalise_query(query)
    if not q or len(q) > MAX_QUERY_LENGTH:
        return []
    key = q.upper()
    out: dict[int, dict] = {}
    if is_plain_number(q) and len(q) <= 18:
        for g in Gene.objects.filter(pk=int(q)):
            out[g.pk] = suggestion(g, "entrez", q)
    symbols = (
        Gene.objects.annotate(u=Upper("symbol"))
        .filter(u__startswith=key)
        .order_by("-in_model_output", "symbol")
        .only("entrez_id", "symbol", "name", "status", "in_model_output")[: limit * 5]
    )
    ranked = sorted(symbols, key=lambda g: (g.symbol.upper() != key, len(g.symbol), g.symbol))
    for g in ranked:
        out.setdefault(g.pk, suggestion(g, "symbol", ""))
    if len(out) < limit:
        aliases = (
            GeneAlias.objects.annotate(u=Upper("alias"))
            .filter(u__startswith=key)
            .exclude(kind=AliasKind.ENSEMBL)
            .select_related("gene")
            .order_by("alias")[: limit * 2]
        )
        for a in sorted(aliases, key=lambda a: (a.alias.upper() != key, len(a.alias))):
            out.setdefault(a.gene_id, suggestion(a.gene, a.kind, a.alias))
    return list(out.values())[:limit]


def suggestion(gene: Gene, via: str, alias: str) -> dict:
    """A gene as the lookup lists it, with how it was matched (search.serializers.GeneMatchSerializer)."""
    return {
        "entrez_id": gene.entrez_id,
        "symbol": gene.symbol,
        "name": gene.name,
        "status": gene.status,
        "matched": via,
        "alias": alias,
    }
