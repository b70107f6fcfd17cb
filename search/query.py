"""The gene-centric query: validate parameters, read the top lists or the store, return hits.

Without filters a result list comes from the precomputed per-gene top lists
(`GeneTopEntry`, one indexed query for every list on a page). With any filter
(cell line, dose, time), or a page past the top lists, it is exact over all
signatures: the matching signature columns come from PostgreSQL, the gene's
values across every signature come from the gene-major store in one read, and
numpy ranks them (`search.ranking`). A filter is never applied to an already
truncated top 100, so a cell line never silently shows fewer hits than exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import urlencode

import numpy as np
from django.core.cache import cache
from django.db.models import Count

from search import ranking
from search.compiled_query import CompiledQuery, any_of_params
from search.process_memo import ProcessMemo
from search.serializers import SearchQuerySerializer, first_error, raw_values
from search.stores import store_for
from signatures.models import GeneTopEntry, PertType, Signature

DEFAULT_LIMIT = SearchQuerySerializer.default_limit  # a page's list, as the API's
MAX_LIMIT = SearchQuerySerializer.max_limit
DEFAULT_TOP_N = 100  # the index holds the top 100 per gene, type, direction and metric
TYPE_ORDER = [PertType.CRISPR, PertType.CHEMICAL, PertType.SHRNA, PertType.OVEREXPRESSION, PertType.LIGAND, PertType.OTHER]
TYPE_LABELS = dict(PertType.choices)
METRIC_LABELS = {"cd": "CD coefficient", "logfc": "log2 fold change", "rank": "rank in signature"}


class BadParameter(ValueError):
    """A query parameter the search cannot use; the message is one sentence for the user."""

    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter
        self.message = message


# ---------------------------------------------------------------------------
# Facets: what a release holds, for the filter controls and for validation.


@dataclass(frozen=True)
class Facets:
    types: dict[str, int]  # pert_type -> number of signatures, in TYPE_ORDER
    cell_lines: dict[str, tuple[int, int]]  # name -> (CellLine id, number of signatures)
    doses: list[tuple[float, str, int]]  # (dose, unit, number of signatures)
    times: list[tuple[float, str, int]]


_process_facets: ProcessMemo[Facets] = ProcessMemo()


def release_facets(release) -> Facets:
    """Counts per type, cell line, dose and time in `release`, cached (a release never changes).

    Kept in this process once read (search.process_memo: every page and API
    call asks); computed once per release in the shared cache, so a new
    process reads it rather than counting again.
    """
    key = f"search:facets:v2:{release.cache_stamp}"

    def shared() -> Facets:
        facets = cache.get(key)
        if facets is None:
            facets = _compute_facets(release)
            cache.set(key, facets, timeout=24 * 3600)
        return facets

    return _process_facets.get(key, shared)


def example_genes(release, n: int = 3) -> list:
    """Genes with the strongest effects in `release` (largest |CD| in their top lists), for the home page.

    Read once per release (one sort of the release's top-list rows) and kept
    in the shared cache, so a newcomer's first search names a gene the
    release holds.
    """
    from conversion.models import Gene

    key = f"search:examples:v2:{release.cache_stamp}:{n}"
    ids = cache.get(key)
    if ids is None:
        rows = GeneTopEntry.objects.filter(release=release, top_cd=True)
        up = list(rows.filter(direction="up").order_by("-cd").values_list("gene_id", flat=True)[: 50 * n])
        down = list(rows.filter(direction="down").order_by("cd").values_list("gene_id", flat=True)[: 50 * n])
        ids = list(dict.fromkeys(g for pair in zip(up, down) for g in pair))[:n]
        cache.set(key, ids, timeout=24 * 3600)
    genes = Gene.objects.in_bulk(ids)
    return [genes[i] for i in ids if i in genes]


def _compute_facets(release) -> Facets:
    sigs = Signature.objects.filter(release=release)
    raw_types = dict(sigs.values_list("pert_type").annotate(n=Count("id")).order_by())
    types = {t.value: raw_types[t.value] for t in TYPE_ORDER if t.value in raw_types}
    cells = {name: (cid, n) for cid, name, n in sigs.values_list("cell_line_id", "cell_line__name").annotate(n=Count("id")).order_by("cell_line__name")}
    doses = [(d, u, n) for d, u, n in sigs.exclude(dose=None).values_list("dose", "dose_unit").annotate(n=Count("id")).order_by("dose", "dose_unit")]
    times = [(t, u, n) for t, u, n in sigs.exclude(time=None).values_list("time", "time_unit").annotate(n=Count("id")).order_by("time", "time_unit")]
    return Facets(types=types, cell_lines=cells, doses=doses, times=times)


# ---------------------------------------------------------------------------
# Parameters.


@dataclass(frozen=True)
class SearchParams:
    types: tuple[str, ...] = ()  # empty: every type the release holds
    direction: str | None = None  # None: both (the page); the API asks for one
    metric: str = "cd"
    cell_lines: tuple[str, ...] = ()
    dose: float | None = None
    time: float | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0

    @property
    def filtered(self) -> bool:
        return bool(self.cell_lines) or self.dose is not None or self.time is not None

    def query_items(self, *, with_paging: bool = True) -> list[tuple[str, str]]:
        """The parameters as query-string pairs (defaults left out), so a shared URL reproduces the view."""
        items = [("type", t) for t in self.types]
        if self.direction:
            items.append(("direction", self.direction))
        if self.metric != "cd":
            items.append(("metric", self.metric))
        items += [("cell_line", c) for c in self.cell_lines]
        if self.dose is not None:
            items.append(("dose", format_number(self.dose)))
        if self.time is not None:
            items.append(("time", format_number(self.time)))
        if with_paging:
            if self.limit != DEFAULT_LIMIT:
                items.append(("limit", str(self.limit)))
            if self.offset:
                items.append(("offset", str(self.offset)))
        return items

    def query_string(self, **changes) -> str:
        params = self if not changes else SearchParams(**{**self.__dict__, **changes})
        return urlencode(params.query_items())

    def describe(self) -> str:
        parts = [f"type={','.join(self.types) or 'all'}", f"direction={self.direction or 'up,down'}", f"metric={self.metric}"]
        if self.cell_lines:
            parts.append(f"cell_line={','.join(self.cell_lines)}")
        if self.dose is not None:
            parts.append(f"dose={format_number(self.dose)}")
        if self.time is not None:
            parts.append(f"time={format_number(self.time)}")
        parts.append(f"offset={self.offset}")
        parts.append(f"limit={self.limit}")
        return " ".join(parts)


def format_number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def parse_params(data: Mapping, facets: Facets, *, api: bool = False, max_limit: int = MAX_LIMIT, default_limit: int = DEFAULT_LIMIT) -> SearchParams:
    """Validate a query string (Django QueryDict or dict) against the release's facets (search.serializers).

    For the API (`api`) one direction is searched, `up` by default, and a blank value is refused; a
    page searches both directions by default and reads a blank value (an empty form box) as absent.
    Valid parses are kept per process (`_parsed`): a query's parameters and the release's facets
    determine the result, and DRF's validation of them costs a tenth of an uncached API request.
    """
    key = _parse_key(data, facets, api, max_limit, default_limit)
    if key is None:
        return _parse(data, facets, api, max_limit, default_limit)
    kept_facets, params = _parsed.get(key, lambda: (facets, _parse(data, facets, api, max_limit, default_limit)))
    return params if kept_facets is facets else _parse(data, facets, api, max_limit, default_limit)


def _parse(data, facets, api, max_limit, default_limit) -> SearchParams:
    query = SearchQuerySerializer(
        data=data, context={"facets": facets}, max_limit=max_limit, default_limit=default_limit,
        default_direction="up" if api else None, blank_values_are_refused=api,
    )
    if not query.is_valid():
        raise BadParameter(*first_error(query.errors, query.fields))
    v = query.validated_data
    return SearchParams(
        types=tuple(v.get("type", ())), direction=v.get("direction"), metric=v["metric"], cell_lines=tuple(v.get("cell_line", ())),
        dose=v.get("dose"), time=v.get("time"), limit=v["limit"], offset=v["offset"],
    )


_parsed: ProcessMemo[tuple[Facets, SearchParams]] = ProcessMemo(size=2048)
_PARAMETERS = tuple(SearchQuerySerializer().fields)  # what the serializer reads; any other parameter is ignored


def _parse_key(data, facets, api, max_limit, default_limit) -> tuple | None:
    """The memo key of a parse: the facets' identity, the options, and every value of the parameters the serializer
    reads, as sent (None when a value cannot be a key). The entry keeps its facets, so a reused id is told apart."""
    values = tuple(tuple(raw_values(data, name)) for name in _PARAMETERS)
    key = (id(facets), api, max_limit, default_limit, values)
    try:
        hash(key)
    except TypeError:
        return None
    return key


# ---------------------------------------------------------------------------
# Results.


class SignatureRow(NamedTuple):
    """The metadata of one signature that a result row shows, read as plain values (no model instances:
    building ~1,200 ORM objects for a page's four top lists cost more than the rest of the request)."""

    sig_id: str
    column: int
    pert_type: str
    pert_id: str
    pert_name: str
    cell_line: str  # the cell line's name
    dose: float | None
    dose_unit: str
    time: float | None
    time_unit: str
    batch: str
    n_replicates: int
    n_controls: int
    controls: str  # "all" or "vehicle": what the signature was computed against
    target_gene: str  # genetic perturbations: the gene the reagent is aimed at
    pert_targets: str  # compounds: "|"-joined targets
    pert_moa: str  # compounds: "|"-joined mechanisms of action


# Signature fields in SignatureRow order, for .values_list() on Signature (or "signature__" + each on a related model).
SIGNATURE_FIELDS = (
    "sig_id", "column", "pert_type", "pert_id", "pert_name", "cell_line__name", "dose", "dose_unit", "time", "time_unit", "batch",
    "n_replicates", "n_controls", "controls", "target_gene", "pert_targets", "pert_moa",
)  # fmt: skip


def signature_rows(queryset) -> list[SignatureRow]:
    """The rows of a Signature queryset as SignatureRow, in one query."""
    return [SignatureRow._make(values) for values in queryset.values_list(*SIGNATURE_FIELDS)]


_SIGNATURES = CompiledQuery()


def signatures_at(release, columns: list[int]) -> dict[int, SignatureRow]:
    """The release's signatures at store columns `columns` (sorted, distinct), by column, in one query."""
    return _signatures_by(release, "column", columns)


def _signatures_by(release, field: str, keys: list[int]) -> dict[int, SignatureRow]:
    """The release's signatures whose `field` ("column" or "pk") is in `keys` (sorted, distinct), by that value, in one
    query compiled once per field (and, but on PostgreSQL, per number of keys: search.compiled_query.AnyOf)."""
    if not keys:
        return {}
    keys_params = any_of_params(keys)
    rows = _SIGNATURES.rows(
        (field, len(keys_params)),
        lambda: Signature.objects.filter(release_id=release.pk).filter(**{f"{field}__any_of": keys}).values_list(field, *SIGNATURE_FIELDS),
        (release.pk, *keys_params),
    )
    return {row[0]: SignatureRow._make(row[1:]) for row in rows}


@dataclass(slots=True)
class Hit:
    position: int  # 1-based, in the whole ranked list
    signature: SignatureRow
    cd: float
    logfc: float
    rank: int  # the gene's rank inside the signature in the list's direction, 1 = most regulated
    self_target: bool = False  # a knockout, knockdown or overexpression of the queried gene itself

    @property
    def discordant(self) -> bool:
        """CD and log2FC disagree in sign (DESIGN.md: flagged, grey in the plot)."""
        return self.cd * self.logfc < 0

    @property
    def fold_change(self) -> float:
        return float(2.0**self.logfc)


@dataclass
class HitList:
    pert_types: tuple[str, ...]
    direction: str
    metric: str
    offset: int
    limit: int
    source: str = "index"  # "index" (precomputed top lists) or "store" (exact over all signatures)
    total: int = 0
    total_exact: bool = True  # False when only the top lists were read and they were full
    hits: list[Hit] = field(default_factory=list)
    perturbagens: list = field(default_factory=list)  # search.perturbagens.PerturbagenGroup, filled for pages
    mechanisms: list = field(default_factory=list)  # search.enrichment.TermEnrichment of its compounds' MOAs, filled for pages

    @property
    def has_next(self) -> bool:
        # A full top list may continue past the index: the next page is then read exactly from the store.
        return not self.total_exact or self.offset + len(self.hits) < self.total

    @property
    def label(self) -> str:
        names = " and ".join(TYPE_LABELS[t] for t in self.pert_types) if self.pert_types else "All types"
        return f"{names}, {'up' if self.direction == 'up' else 'down'}-regulating"


def run_lists(release, gene, params: SearchParams, lists: Sequence[tuple[tuple[str, ...], str]]) -> list[HitList]:
    """Fill each (types, direction) list for `gene` in `release`.

    At most two queries however many lists: the top-list rows (unfiltered
    lists), or the metadata of the listed signatures (exact lists: the matching
    columns come from the release's ColumnTable, read once per process).
    """
    top_n = int((release.params or {}).get("top_n", DEFAULT_TOP_N))
    use_index = release.index_built and not params.filtered and params.offset + params.limit <= top_n
    out = [HitList(pert_types=types, direction=direction, metric=params.metric, offset=params.offset, limit=params.limit) for types, direction in lists]
    if use_index:
        _fill_from_index(release, gene, params, out, top_n)
    else:
        _fill_from_store(release, gene, params, out)
    symbol = gene.symbol.upper()
    for hl in out:
        for hit in hl.hits:
            hit.self_target = hit.signature.target_gene.upper() == symbol if hit.signature.target_gene else False
    return out


_INDEX_QUERY = CompiledQuery()


def _fill_from_index(release, gene, params: SearchParams, out: list[HitList], top_n: int) -> None:
    """Fill the lists from the precomputed top lists (every row's CD has its list's sign: signatures.topk).

    Two queries: the lists' index rows alone, then the metadata of the signatures that can be on the page,
    the first offset + limit of each list by its sort key and every one tied with the last of them (the
    store column breaks ties). Joining the signatures to every row of a full top list cost PostgreSQL an
    index probe per row, twice as many as a default page shows.
    """
    types = sorted({t for hl in out for t in hl.pert_types})
    directions = sorted({hl.direction for hl in out})
    rows = _INDEX_QUERY.rows(
        (len(types), len(directions), params.metric),
        lambda: GeneTopEntry.objects.filter(**{f"top_{params.metric}": True})
        .filter(release_id=release.pk).filter(gene_id=gene.pk).filter(pert_type__in=types).filter(direction__in=directions)
        .values_list("pert_type", "direction", "cd", "logfc", "rank", "signature_id"),
        (release.pk, gene.pk, *types, *directions),
    )
    grouped: dict[tuple[str, str], list[tuple]] = {}  # (type, direction) -> [(pert_type, direction, cd, logfc, rank, signature id)]
    for row in rows:
        grouped.setdefault((row[0], row[1]), []).append(row)
    end = params.offset + params.limit
    candidates, wanted = [], set()
    for hl in out:
        entries = [e for t in hl.pert_types for e in grouped.get((t, hl.direction), [])]
        full = any(len(grouped.get((t, hl.direction), [])) >= top_n for t in hl.pert_types)
        hl.source, hl.total, hl.total_exact = "index", len(entries), not full
        if not entries:
            continue
        values = np.array([e[2:5] for e in entries], dtype=np.float64)  # (n, 3): cd, logfc, rank
        key = ranking.sort_key(values[:, 0], values[:, 1], values[:, 2].astype(np.int64), direction=hl.direction, metric=params.metric)
        by_key = np.argsort(key, kind="stable")
        n = len(entries) if end >= len(entries) else int(np.searchsorted(key[by_key], key[by_key[end - 1]], side="right"))
        candidates.append((hl, entries, key, by_key[:n]))
        wanted.update(entries[i][5] for i in by_key[:n])
    signatures = _signatures_by(release, "pk", sorted(wanted))
    for hl, entries, key, chosen in candidates:
        columns = np.array([signatures[entries[i][5]].column for i in chosen], dtype=np.int64)
        page = chosen[np.lexsort((columns, key[chosen]))][params.offset : end]
        hl.hits = [
            Hit(position=params.offset + i, signature=signatures[entries[j][5]], cd=float(entries[j][2]), logfc=float(entries[j][3]), rank=int(entries[j][4]))
            for i, j in enumerate(page.tolist(), start=1)
        ]


def _tolerance(value: float) -> tuple[float, float]:
    """Doses and times are stored as floats parsed from text: a filter matches them to 1 part in a million."""
    tol = max(abs(value) * 1e-6, 1e-9)
    return value - tol, value + tol


@dataclass(frozen=True)
class ColumnTable:
    """What the filters look at, for every signature column of a release: type, cell line, dose, time.

    About 21 bytes a signature (21 MB at a million), kept per process
    (search.process_memo). A filter is then a few numpy comparisons over the
    release instead of a query returning every matching signature, whose
    rows at a million signatures cost more than the rest of the search
    (bench/bench_release.py's broad filters, docs/benchmarks.md).
    """

    types: tuple[str, ...]  # the release's perturbation types; type_code indexes it
    type_code: np.ndarray  # int8 per column
    cell_line: np.ndarray  # int32 CellLine id per column
    dose: np.ndarray  # float64 per column, NaN for none
    time: np.ndarray

    def select(self, params: SearchParams, types, facets: Facets) -> tuple[np.ndarray, np.ndarray]:
        """The columns of `types` that pass the filters of `params`, ascending, and their type codes."""
        codes = [self.types.index(t) for t in types if t in self.types]
        keep = np.isin(self.type_code, np.array(codes, dtype=np.int8))
        if params.cell_lines:
            keep &= np.isin(self.cell_line, np.array([facets.cell_lines[c][0] for c in params.cell_lines], dtype=np.int32))
        for values, value in ((self.dose, params.dose), (self.time, params.time)):
            if value is not None:
                lo, hi = _tolerance(value)
                keep &= (values >= lo) & (values <= hi)  # NaN (none) compares False: never matched, as NULL in SQL
        columns = np.flatnonzero(keep)
        return columns, self.type_code[columns]


_process_columns: ProcessMemo[ColumnTable] = ProcessMemo(size=4)


def column_table(release) -> ColumnTable:
    """The release's ColumnTable, read with one query the first time this process asks."""

    def read() -> ColumnTable:
        n = release.n_signatures
        types = tuple(release_facets(release).types)
        type_code = np.full(n, -1, dtype=np.int8)  # a column without a row matches no type
        cell_line = np.zeros(n, dtype=np.int32)
        dose = np.full(n, np.nan)
        time = np.full(n, np.nan)
        code = {t: i for i, t in enumerate(types)}
        rows = Signature.objects.filter(release=release).values_list("column", "pert_type", "cell_line_id", "dose", "time").order_by()
        for column, pert_type, cell, d, t in rows.iterator(chunk_size=20_000):
            type_code[column] = code.get(pert_type, -1)
            cell_line[column] = cell
            if d is not None:
                dose[column] = d
            if t is not None:
                time[column] = t
        return ColumnTable(types=types, type_code=type_code, cell_line=cell_line, dose=dose, time=time)

    return _process_columns.get(release.cache_stamp, read)


def _fill_from_store(release, gene, params: SearchParams, out: list[HitList]) -> None:
    for hl in out:
        hl.source = "store"
    store = store_for(release)
    if not store.has_gene(gene.pk):
        return  # not an output gene of this release: no signature holds it
    types = sorted({t for hl in out for t in hl.pert_types})
    table = column_table(release)
    columns_all, codes_all = table.select(params, types, release_facets(release))
    values = store.read_gene(gene.pk)  # (n_signatures,) each: one contiguous read per dataset
    picked: list[tuple[HitList, np.ndarray]] = []
    for hl in out:
        cols = columns_all[np.isin(codes_all, [table.types.index(t) for t in hl.pert_types if t in table.types])]
        positions, total = ranking.rank_signatures(
            values.cd[cols], values.logfc[cols], values.rank_up[cols], cols,
            n_genes=store.n_genes, direction=hl.direction, metric=params.metric, offset=params.offset, limit=params.limit,
        )
        hl.total, hl.total_exact = total, True
        picked.append((hl, cols[positions]))
    wanted = sorted({int(c) for _, cols in picked for c in cols})
    sigs = signatures_at(release, wanted)
    for hl, cols in picked:
        rank = ranking.direction_rank(values.rank_up[cols], store.n_genes, hl.direction)
        hl.hits = [
            Hit(position=params.offset + i, signature=sigs[int(c)], cd=float(values.cd[c]), logfc=float(values.logfc[c]), rank=int(r))
            for i, (c, r) in enumerate(zip(cols, rank), start=1)
        ]
