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
gene at a time (SignatureStore.read_gene_ranks), and added into each set's
rank sums per signature (`set_scores`): a few arrays of the signatures
searched, whatever the sets' sizes. The best and worst `limit` signatures are
found by a partition of the scores, then sorted (`top_positions`).

A query is saved under a result id (`SetQuery`, stored by search.models.SavedSetQuery)
so that sets too long for a URL can be shared: its entries normalised as the
lookup normalises one query (search.lookup.normalise_query: trimmed, at most
65 characters), each set's entries once each in the order given (the order
shown back; the scores do not depend on it), the filters sorted,
the release's name; the id is a hash of that, so the same query on the same
release always gets the same id and a stored query is at most
2 x MAX_GENES entries of 65 characters.

The result tables as files (`SET_COLUMNS`, `SET_PERTURBAGEN_COLUMNS`) follow
the gene pages' downloads (search.downloads): the type first, then the list,
the position and the signature's metadata, its values, then its annotations.

The numerics (`set_z`, `combined_score`, `p_values`, `split_genes`; the FDR is search.enrichment's `benjamini_hochberg`)
import numpy and scipy only; `search_sets` is the Django-facing function
(with `run_query`, `saved_query` and `save_query` for saved queries), and the
Django pieces they need are imported inside them, so the numerics stay
importable and testable without Django settings.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import norm

from search.enrichment import benjamini_hochberg

MIN_GENES = 5  # a set with fewer genes in the release's store is refused
MAX_GENES = 2000  # entries per set
DEFAULT_LIMIT = 50  # signatures per list, as a gene's list (search.query.DEFAULT_LIMIT)


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
    return set_z_from_sums(ranks.sum(axis=0, dtype=np.int64), np.count_nonzero(ranks == 0, axis=0), ranks.shape[0], n_genes)


def set_z_from_sums(total: np.ndarray, n_zero: np.ndarray, m: int, n_genes: int) -> np.ndarray:
    """set_z from a set of `m` genes' rank sums `total` (k,) and their numbers of rank-0 genes `n_zero` (k,)."""
    if not 0 < m < n_genes:
        raise ValueError(f"a set must hold between 1 and n_genes - 1 ({n_genes - 1}) genes, found {m}.")
    middle = (n_genes + 1) / 2.0
    # R, the set's rank sum per signature (k,), in integers; each rank 0 then counts as the middle rank.
    rank_sum = np.asarray(total, dtype=np.float64) + middle * np.asarray(n_zero, dtype=np.float64)
    sd = np.sqrt(m * (n_genes - m) * (n_genes + 1) / 12.0)
    return (m * middle - rank_sum) / sd


def top_positions(score: np.ndarray, limit: int, *, largest: bool) -> np.ndarray:
    """Positions of the `limit` largest (or smallest) scores, best first, ties by position.

    A partition finds the limit-th best score; only the scores as good as it
    are sorted (a full sort of a million scores costs more than the search's
    reading of its genes).
    """
    key = -np.asarray(score, dtype=np.float64) if largest else np.asarray(score, dtype=np.float64)
    if 0 < limit < len(key):
        kth = np.partition(key, limit - 1)[limit - 1]
        candidates = np.flatnonzero(key <= kth)
    else:
        candidates = np.arange(len(key))
    return candidates[np.lexsort((candidates, key[candidates]))][: max(limit, 0)]


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
    types: tuple[str, ...]  # the types searched: those asked for, else all of the release's
    cell_lines: tuple[str, ...]
    limit: int
    n_signatures: int  # signatures searched (after the filters); the FDR is over these
    chosen_types: tuple[str, ...] = ()  # the types asked for; () = all
    mimic: list[SetHit] = field(default_factory=list)
    reverse: list[SetHit] = field(default_factory=list)
    # Every searched signature's scores, for the grouping by perturbagen: columns sorted, (n_signatures,) each.
    columns: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64), repr=False)
    score: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    z_up: np.ndarray | None = field(default=None, repr=False)
    z_down: np.ndarray | None = field(default=None, repr=False)
    perturbagens: dict = field(default_factory=lambda: {"mimic": [], "reverse": []})  # list -> [search.perturbagens.SetPerturbagenGroup]
    key: str | None = None  # the result id when the query is saved (SetQuery.key)
    saved_for: str | None = None  # the release a saved query was made for, when that is not `release`
    dose: float | None = None  # the dose and time filters, None for none
    time: float | None = None

    @property
    def unresolved(self) -> list[Unresolved]:
        return self.up.unresolved + self.down.unresolved

    @property
    def lists(self) -> list[tuple[str, list[SetHit]]]:
        return [("mimic", self.mimic), ("reverse", self.reverse)]

    def query_items(self) -> list[tuple[str, str]]:
        """The query string of /sets/ (and of its downloads) that runs this search again: the genes found, by symbol, and the filters."""
        items = [(s.name, ",".join(g.symbol for g in s.genes)) for s in (self.up, self.down) if s.genes]
        items += [("type", t) for t in self.chosen_types] + [("cell_line", c) for c in self.cell_lines]
        from search.query import format_number

        items += [(name, format_number(v)) for name, v in (("dose", self.dose), ("time", self.time)) if v is not None]
        return items + ([("limit", str(self.limit))] if self.limit != DEFAULT_LIMIT else [])

    def describe(self) -> str:
        """The query in one line, for a download's header: the genes searched, the filters, the result id."""
        parts = []
        for s in (self.up, self.down):
            if s.entries:
                parts.append(f"{s.name}={','.join(g.symbol for g in s.genes)} ({len(s.genes)} genes, {len(s.unresolved)} entries not found)")
        parts += [f"type={','.join(self.types)}", f"cell_line={','.join(self.cell_lines) or 'all'}"]
        from search.query import format_number

        parts += [f"{name}={format_number(v)}" for name, v in (("dose", self.dose), ("time", self.time)) if v is not None]
        parts.append(f"limit={self.limit}")
        if self.key:
            parts.append(f"result id {self.key}")
        if self.saved_for:
            parts.append(f"saved for release {self.saved_for}, run again on {self.release.name}")
        return " ".join(parts)


@dataclass(frozen=True)
class SetQuery:
    """A set search's query as it is saved and shared: normalised (`normalised`), so equal queries are equal."""

    release: str  # the name of the release it was made for
    up: tuple[str, ...]
    down: tuple[str, ...]
    types: tuple[str, ...]
    cell_lines: tuple[str, ...]
    limit: int
    dose: float | None = None
    time: float | None = None

    @classmethod
    def normalised(cls, release: str, up, down, *, types=(), cell_lines=(), limit: int, dose=None, time=None) -> "SetQuery":
        from search.lookup import normalise_query

        def entries(values) -> tuple[str, ...]:
            return tuple(dict.fromkeys(e for e in (normalise_query(v) for v in values) if e))  # once each, in the order given

        number = lambda v: None if v is None else float(v)  # noqa: E731
        return cls(release, entries(up), entries(down), tuple(sorted(types)), tuple(sorted(cell_lines)), int(limit), number(dose), number(time))

    @classmethod
    def from_params(cls, release: str, up, down, params) -> "SetQuery":
        """The normalised query of sets `up` and `down` with the filters of `params` (search.query.SearchParams)."""
        return cls.normalised(release, up, down, types=params.types, cell_lines=params.cell_lines, dose=params.dose, time=params.time, limit=params.limit)

    @property
    def key(self) -> str:
        """The result id: 16 characters of base32 of the query's SHA-256 (80 bits: a shared id is not guessed)."""
        fields = [self.release, self.up, self.down, self.types, self.cell_lines, self.limit]
        if self.dose is not None or self.time is not None:  # a query without them keeps the id it had before they existed
            fields += [self.dose, self.time]
        raw = json.dumps(fields, separators=(",", ":"))
        return base64.b32encode(hashlib.sha256(raw.encode()).digest()[:10]).decode().lower()

    @property
    def filters(self) -> dict[str, list[str]]:
        """type, cell_line, dose, time and limit as query-string values, for search.query.parse_params."""
        out = {"type": list(self.types), "cell_line": list(self.cell_lines), "limit": [str(self.limit)]}
        from search.query import format_number

        out.update({name: [format_number(v)] for name, v in (("dose", self.dose), ("time", self.time)) if v is not None})
        return out


KEY_PATTERN = re.compile(r"[a-z2-7]{16}")  # SetQuery.key's alphabet and length


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


def set_ranks(store, genes, columns: np.ndarray) -> np.ndarray:
    """rank_up of `genes` in `columns`: int32 (len(genes), len(columns)), one read of the gene's ranks per gene."""
    out = np.empty((len(genes), len(columns)), dtype=np.int32)
    for i, gene in enumerate(genes):
        out[i] = store.read_gene_ranks(gene.entrez_id)[columns]
    return out


def _rank_sums(store, genes, columns: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Per signature of `columns` (None: every signature): the sum of `genes`' rank_up and how many have rank 0.

    One gene-major row read per gene, added into the sums as it comes: memory
    is two arrays of the signatures searched, not a (genes x signatures)
    matrix, and a gene with a CD in every signature (the store counts them)
    is not scanned for zeros.
    """
    n = store.n_signatures if columns is None else len(columns)
    total = np.zeros(n, dtype=np.int64)
    n_zero = np.zeros(n, dtype=np.int32)
    for gene in genes:
        row = store.read_gene_ranks(gene.entrez_id)
        if columns is not None:
            row = row[columns]
        total += row
        if store.signatures_without_cd(gene.entrez_id):
            n_zero += row == 0
    return total, n_zero


def set_scores(store, genes, columns: np.ndarray | None) -> np.ndarray:
    """set_z of `genes` in every signature of `columns` (None: all), from the gene-major store."""
    total, n_zero = _rank_sums(store, genes, columns)
    return set_z_from_sums(total, n_zero, len(genes), store.n_genes)


def search_sets(
    release, up_entries: list[str], down_entries: list[str], *, types=(), cell_lines=(), dose: float | None = None, time: float | None = None,
    limit: int = DEFAULT_LIMIT,
) -> SetSearchResult:
    """Score every signature of `release` of `types` (default: all), `cell_lines` (default: all), `dose` and `time`
    (default: any; matched as the gene search matches them) for the sets.

    Raises SetSearchError for a query it refuses and signatures.store.StoreError when the store cannot be read.
    """
    from search.perturbagens import group_set_hits
    from search.query import SearchParams, column_table, release_facets, signatures_at

    store, up, down = _resolved_sets(release, up_entries, down_entries)
    facets = release_facets(release)
    chosen_types = tuple(types)
    types = chosen_types or tuple(facets.types)
    every = not cell_lines and dose is None and time is None and set(types) >= set(facets.types)
    if every:
        columns = np.arange(release.n_signatures, dtype=np.int64)  # every signature: no filter to apply
    else:
        columns, _ = column_table(release).select(SearchParams(types=types, cell_lines=tuple(cell_lines), dose=dose, time=time), types, facets)
    result = SetSearchResult(
        release=release, up=up, down=down, types=types, cell_lines=tuple(cell_lines), limit=limit, n_signatures=len(columns), chosen_types=chosen_types,
        dose=dose, time=time,
    )
    if len(columns) == 0:
        return result
    read = None if every else columns
    z_up = set_scores(store, up.genes, read) if up.genes else None
    z_down = set_scores(store, down.genes, read) if down.genes else None
    score = combined_score(z_up, z_down)
    p = p_values(score, n_sets=(z_up is not None) + (z_down is not None))
    fdr = benjamini_hochberg(p)
    mimic = top_positions(score, limit, largest=True)  # positions into columns (ascending): ties by column
    reverse = top_positions(score, limit, largest=False)
    wanted = sorted({int(columns[i]) for i in np.concatenate([mimic, reverse])})
    rows = signatures_at(release, wanted)

    def hits(positions) -> list[SetHit]:
        return [
            SetHit(
                position=n, signature=rows[int(columns[i])], z_up=None if z_up is None else float(z_up[i]), z_down=None if z_down is None else float(z_down[i]),
                score=float(score[i]), p_value=float(p[i]), fdr=float(fdr[i]),
            )
            for n, i in enumerate(positions, start=1)
        ]

    result.mimic, result.reverse = hits(mimic), hits(reverse)
    result.columns, result.score, result.z_up, result.z_down = columns, score, z_up, z_down
    result.perturbagens = group_set_hits(release, result)
    return result


def saved_query(key: str) -> SetQuery:
    """The saved query of result id `key` (search.models.SavedSetQuery); SetSearchError (404) for an id that names none."""
    from search.models import SavedSetQuery

    saved = SavedSetQuery.objects.filter(key=key).first() if KEY_PATTERN.fullmatch(key) else None
    if saved is None:
        raise SetSearchError(f"No saved gene-set search has the id '{key[:40]}'; a result id is the 16 letters and digits after /sets/ in a link to a search.", status=404)
    return saved.query()


def save_query(query: SetQuery) -> str:
    """Save `query` under its result id (once: the id is its hash) and return the id."""
    from search.models import SavedSetQuery

    return SavedSetQuery.save_query(query).key


def _resolved_sets(release, up_entries: list[str], down_entries: list[str]):
    """(store, up GeneSet, down GeneSet) of a query the search accepts; SetSearchError for one it refuses."""
    from search.stores import store_for

    check_sizes(up_entries, down_entries)
    store = store_for(release)
    up, down = resolve_set("up", up_entries, store), resolve_set("down", down_entries, store)
    _check_sets(up, down, store.n_genes)
    return store, up, down


def check_query(release, query: SetQuery) -> None:
    """Raise what run_query would raise for `query` on `release` before scoring (a bad filter, a refused
    set), without scoring: the page saves a POSTed query after this and scores it once, on its result page."""
    from search.query import parse_params, release_facets

    parse_params(query.filters, release_facets(release))
    _resolved_sets(release, list(query.up), list(query.down))


def run_query(release, query: SetQuery, *, key: str | None = None) -> SetSearchResult:
    """search_sets of `query` on `release`, its filters validated again against that release (a query saved
    for another release may name a cell line this one lacks). Raises search.query.BadParameter, SetSearchError
    or signatures.store.StoreError."""
    from search.query import parse_params, release_facets

    params = parse_params(query.filters, release_facets(release))
    result = search_sets(
        release, list(query.up), list(query.down), types=params.types, cell_lines=params.cell_lines, dose=params.dose, time=params.time, limit=params.limit,
    )
    result.key = key
    result.saved_for = query.release if query.release != release.name else None
    return result


# ---------------------------------------------------------------------------
# The result tables as files (search.downloads.render_table).


SET_COLUMNS = [
    "pert_type", "list", "position", "sig_id", "pert_id", "perturbagen", "cell_line", "dose", "dose_unit", "time", "time_unit",
    "z_up", "z_down", "score", "p_value", "fdr", "target_gene", "pert_targets", "pert_moa", "n_replicates", "n_controls", "controls", "batch",
]
SET_PERTURBAGEN_COLUMNS = [
    "pert_type", "list", "best_position", "pert_id", "perturbagen", "n_listed", "n_signatures", "n_agree", "agreement",
    "n_cell_lines", "n_cell_lines_agree", "median_score", "median_z_up", "median_z_down", "cell_lines",
]


def hit_rows(result: SetSearchResult) -> list[list]:
    """One row per hit, mimic then reverse, in SET_COLUMNS order."""
    rows = []
    for key, hits in result.lists:
        for h in hits:
            s = h.signature
            rows.append([
                s.pert_type, key, h.position, s.sig_id, s.pert_id, s.pert_name, s.cell_line, s.dose, s.dose_unit, s.time, s.time_unit,
                h.z_up, h.z_down, h.score, h.p_value, h.fdr, s.target_gene, s.pert_targets, s.pert_moa, s.n_replicates, s.n_controls, s.controls, s.batch,
            ])
    return rows


def perturbagen_rows(result: SetSearchResult) -> list[list]:
    """One row per perturbagen of each list, mimic then reverse, in SET_PERTURBAGEN_COLUMNS order."""
    rows = []
    for key, _ in result.lists:
        for g in result.perturbagens[key]:
            rows.append([
                g.pert_type, key, g.best_position, g.pert_id, g.pert_name, g.n_listed, g.n_signatures, g.n_agree, g.agreement,
                g.n_cell_lines, g.n_cell_lines_agree, g.median_score, g.median_z_up, g.median_z_down, ",".join(g.cell_lines),
            ])
    return rows
