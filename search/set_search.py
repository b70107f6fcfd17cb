"""Gene-set signature search: the signatures that move an up set up and a down set down, or the reverse.

For one signature with N genes and a query set S of m of them, the question
"are S's genes higher in this signature than the others?" is the
Mann-Whitney U test of S's ranks against the other N - m genes' ranks. With
r_i = rank_up of gene i (1 = the signature's most positive CD coefficient,
signatures.store.ranks_up) the rank sum R = sum_{i in S} r_i has, under the
null (S a random m-subset of a permutation of 1..N),

    E[R] = m (N + 1) / 2,    Var[R] = m (N - m) (N + 1) / 12,

and U = m (N - m) + m (m + 1) / 2 - R is an affine map of R, so the
normal-approximation z of U equals that of R. Low rank_up means up, so

    z(S) = (m (N + 1) / 2 - R) / sqrt(m (N - m) (N + 1) / 12)      (z > 0: S is up)

No tie correction: the ranks of one signature are a permutation. The one
exception is a gene without a CD in a signature (rank 0, "no rank", constant
among the signature's profiles: docs/signatures.md). It has no direction, so
it is given the middle rank (N + 1) / 2, i.e. no signal, which leaves E[R]
unchanged and makes the test slightly conservative there.

Combined score for an up set U and a down set D: z(U) - z(D) (large = the
signature mimics the query, small = it reverses it); a one-sided query's
score is its one z, z(U) for an up set alone and -z(D) for a down set alone
(the same formula with the missing set's z left out). Under the null z(U) and z(D) are each standard normal
and (for disjoint sets, nearly) independent, so the score divided by
sqrt(number of sets) is standard normal: two-sided p-values from it, then
Benjamini-Hochberg FDR over every signature searched.

Memory: only the query genes' rows of the gene-major store are read, one
gene at a time (SignatureStore.read_gene_ranks), into an int32 array of
(query genes x searched signatures).

The numerics (`set_z`, `combined_score`, `p_values`, `split_genes`; the FDR is search.enrichment's `benjamini_hochberg`)
import numpy and scipy only; `search_sets` is the Django-facing function, and
the Django pieces it needs are imported inside it (and `resolve_set`), so the
numerics stay importable and testable without Django settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import norm

from search.enrichment import benjamini_hochberg

MIN_GENES = 5  # a set with fewer genes in the release's store is refused
MAX_GENES = 2000  # entries per set


class SetSearchError(ValueError):
    """A query the set search cannot run; `message` is one sentence for the user, `status` the HTTP status."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


# ---------------------------------------------------------------------------
# Numerics.


def set_z(rank_up: np.ndarray, n_genes: int) -> np.ndarray:
    """z of the set whose ranks are `rank_up` (m, k) in k signatures of `n_genes` genes: (k,) float64, > 0 = up.

    Rank 0 (no CD in that signature) counts as the middle rank (n_genes + 1) / 2.
    """
    ranks = np.asarray(rank_up)
    m = ranks.shape[0]
    if not 0 < m < n_genes:
        raise ValueError(f"a set must hold between 1 and n_genes - 1 ({n_genes - 1}) genes, found {m}.")
    middle = (n_genes + 1) / 2.0
    # R, the set's rank sum per signature (k,), in integers; each rank 0 then counts as the middle rank.
    total = ranks.sum(axis=0, dtype=np.int64) + middle * np.count_nonzero(ranks == 0, axis=0)
    sd = np.sqrt(m * (n_genes - m) * (n_genes + 1) / 12.0)
    return (m * middle - total) / sd


def combined_score(z_up: np.ndarray | None, z_down: np.ndarray | None) -> np.ndarray:
    """z_up - z_down, or the one z of a one-sided query: (k,)."""
    if z_up is None and z_down is None:
        raise ValueError("combined_score needs z_up, z_down or both.")
    if z_down is None:
        return np.asarray(z_up, dtype=np.float64)
    if z_up is None:
        return -np.asarray(z_down, dtype=np.float64)
    return np.asarray(z_up, dtype=np.float64) - np.asarray(z_down, dtype=np.float64)


def p_values(score: np.ndarray, n_sets: int) -> np.ndarray:
    """Two-sided p-values of `score`, which is sqrt(n_sets) times a standard normal under the null."""
    z = np.abs(np.asarray(score, dtype=np.float64)) / np.sqrt(n_sets)
    return 2.0 * norm.sf(z)


def split_genes(text: str) -> list[str]:
    """The entries of a pasted gene list: one per line, or comma, semicolon or space separated.

    A GMT line (`name<TAB>description<TAB>gene<TAB>gene...`) gives its genes,
    the name and description left out. Blank entries are dropped.
    """
    entries: list[str] = []
    for line in str(text or "").splitlines():
        fields = line.split("\t")
        if len(fields) >= 3:
            fields = fields[2:]
        for f in fields:
            entries += [e for e in re.split(r"[\s,;]+", f) if e]
    return entries


# ---------------------------------------------------------------------------
# The Django-facing search.


@dataclass(frozen=True)
class Unresolved:
    """An entry of a set that names no gene of the release's store, listed back to the user."""

    set: str  # "up" or "down"
    query: str
    reason: str  # "unknown", "ambiguous" or "not_in_release"
    message: str


@dataclass
class GeneSet:
    name: str  # "up" or "down"
    entries: list[str]
    genes: list = field(default_factory=list)  # conversion.models.Gene, in entry order, once each
    unresolved: list[Unresolved] = field(default_factory=list)


@dataclass(slots=True)
class SetHit:
    position: int  # 1-based, in its list (mimic: largest score first; reverse: smallest first)
    signature: object  # search.query.SignatureRow
    z_up: float | None
    z_down: float | None
    score: float
    p_value: float
    fdr: float


@dataclass
class SetSearchResult:
    release: object  # signatures.models.Release
    up: GeneSet
    down: GeneSet
    types: tuple[str, ...]
    cell_lines: tuple[str, ...]
    limit: int
    n_signatures: int  # signatures searched (after the filters); the FDR is over these
    mimic: list[SetHit] = field(default_factory=list)
    reverse: list[SetHit] = field(default_factory=list)

    @property
    def unresolved(self) -> list[Unresolved]:
        return self.up.unresolved + self.down.unresolved


def check_sizes(up_entries: list[str], down_entries: list[str]) -> None:
    """Refuse a query before any lookup: no set, or a set with more than MAX_GENES entries."""
    for name, entries in (("up", up_entries), ("down", down_entries)):
        if len(entries) > MAX_GENES:
            raise SetSearchError(f"The {name} set has {len(entries)} genes; at most {MAX_GENES:,} per set are searched.")
    if not up_entries and not down_entries:
        raise SetSearchError("Give an up set, a down set or both: both sets are empty.")


def resolve_set(name: str, entries: list[str], store) -> GeneSet:
    """Each entry resolved as the gene box resolves one query (search.lookup.resolve); what names no gene
    of `store` is kept in `unresolved`, never dropped. All entries in a few queries (search.lookup.resolve_many)."""
    from search import lookup

    out = GeneSet(name=name, entries=list(entries))
    seen: set[int] = set()
    for resolution in lookup.resolve_many(entries):
        gene = resolution.gene
        if gene is None:
            reason = "ambiguous" if resolution.ambiguous else "unknown"
            out.unresolved.append(Unresolved(name, resolution.query, reason, resolution.message()))
        elif not store.has_gene(gene.entrez_id):
            message = f"'{resolution.query}' is {gene.symbol}, which this release's signatures do not hold."
            out.unresolved.append(Unresolved(name, resolution.query, "not_in_release", message))
        elif gene.entrez_id not in seen:
            seen.add(gene.entrez_id)
            out.genes.append(gene)
    return out


def _check_sets(up: GeneSet, down: GeneSet, n_genes: int) -> None:
    both = {g.entrez_id for g in up.genes} & {g.entrez_id for g in down.genes}
    if both:
        names = ", ".join(g.symbol for g in up.genes if g.entrez_id in both)
        raise SetSearchError(f"{names} {'is' if len(both) == 1 else 'are'} in both the up and the down set; a gene can be in one set only.")
    for s in (up, down):
        if not s.entries:
            continue
        if len(s.genes) < MIN_GENES:
            text = f"The {s.name} set has {len(s.genes)} gene{'' if len(s.genes) == 1 else 's'} in this release, fewer than the {MIN_GENES} the search needs"
            if s.unresolved:
                shown = ", ".join(f"'{u.query}'" for u in s.unresolved[:5])
                more = f" and {len(s.unresolved) - 5} more" if len(s.unresolved) > 5 else ""
                # Unknown genes are a 404 in this API, as for one gene (search.api); too few known ones a 400.
                raise SetSearchError(f"{text}; not found in it: {shown}{more}.", status=404)
            raise SetSearchError(f"{text}.")
        if len(s.genes) >= n_genes:
            raise SetSearchError(f"The {s.name} set holds {len(s.genes)} of the release's {n_genes} genes; it must leave some out to be compared with them.")


def _set_ranks(store, genes, columns: np.ndarray) -> np.ndarray:
    """rank_up of `genes` in `columns`: int32 (len(genes), len(columns)), one read of the gene's ranks per gene."""
    out = np.empty((len(genes), len(columns)), dtype=np.int32)
    for i, gene in enumerate(genes):
        out[i] = store.read_gene_ranks(gene.entrez_id)[columns]
    return out


def search_sets(release, up_entries: list[str], down_entries: list[str], *, types=(), cell_lines=(), limit: int = 50) -> SetSearchResult:
    """Score every signature of `release` of `types` (default: all) and `cell_lines` (default: all) for the sets.

    Raises SetSearchError for a query it refuses and signatures.store.StoreError when the store cannot be read.
    """
    from search.query import SearchParams, release_facets, signature_filter, signature_rows
    from search.stores import store_for
    from signatures.models import Signature

    check_sizes(up_entries, down_entries)
    store = store_for(release)
    up, down = resolve_set("up", up_entries, store), resolve_set("down", down_entries, store)
    _check_sets(up, down, store.n_genes)
    facets = release_facets(release)
    types = tuple(types) or tuple(facets.types)
    if not cell_lines and set(types) >= set(facets.types):
        columns = np.arange(release.n_signatures, dtype=np.int64)  # every signature: no need to ask the database which
    else:
        where = signature_filter(release, SearchParams(types=types, cell_lines=tuple(cell_lines)), types)
        columns = np.sort(np.fromiter(Signature.objects.filter(**where).values_list("column", flat=True), dtype=np.int64))
    result = SetSearchResult(release=release, up=up, down=down, types=types, cell_lines=tuple(cell_lines), limit=limit, n_signatures=len(columns))
    if len(columns) == 0:
        return result
    z_up = set_z(_set_ranks(store, up.genes, columns), store.n_genes) if up.genes else None
    z_down = set_z(_set_ranks(store, down.genes, columns), store.n_genes) if down.genes else None
    score = combined_score(z_up, z_down)
    p = p_values(score, n_sets=(z_up is not None) + (z_down is not None))
    fdr = benjamini_hochberg(p)
    mimic = np.lexsort((columns, -score))[:limit]  # positions into columns; ties by column
    reverse = np.lexsort((columns, score))[:limit]
    wanted = sorted({int(columns[i]) for i in np.concatenate([mimic, reverse])})
    rows = {s.column: s for s in signature_rows(Signature.objects.filter(release=release, column__in=wanted))}

    def hits(positions) -> list[SetHit]:
        return [
            SetHit(
                position=n, signature=rows[int(columns[i])], z_up=None if z_up is None else float(z_up[i]), z_down=None if z_down is None else float(z_down[i]),
                score=float(score[i]), p_value=float(p[i]), fdr=float(fdr[i]),
            )
            for n, i in enumerate(positions, start=1)
        ]

    result.mimic, result.reverse = hits(mimic), hits(reverse)
    return result
