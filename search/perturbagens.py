"""Hits grouped by perturbagen: does the effect hold across a perturbagen's signatures?

One compound is often profiled at several doses, times and cell lines, and one
gene is knocked out by several sgRNAs; a single strong signature says less than
a perturbagen whose every signature points the same way. For the perturbagens
of one result list this reads a value in all of their signatures in the release
(under the same filters as the list) and reports, per perturbagen: how many
signatures there are, how many have the value's sign in the list's direction,
in how many cell lines, and the median of the value.

Two kinds of list share that one code path (`_first_hits`, `_members`,
`_counts`):
  - a gene's lists (`group_by_perturbagen`): the value is the gene's CD (and
    the median log2FC beside it); the gene's row is read from the gene-major
    store once;
  - a gene-set search's mimic and reverse lists (`group_set_hits`): the value
    is the set score z_up - z_down (search.set_search), which the search has
    computed for every signature it searched; mimic agrees where the score is
    > 0, reverse where it is < 0.
The perturbagens' other signatures come from the release's PerturbagenIndex,
read with one query once per process, and the filters from the exact search's
ColumnTable (search.query).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from search.process_memo import ProcessMemo
from search.query import HitList, SearchParams, column_table, release_facets
from search.stores import store_for
from signatures.models import Signature


@dataclass(frozen=True, slots=True)
class PerturbagenCounts:
    pert_id: str
    pert_name: str
    pert_type: str
    best_position: int  # the position of its best signature in the list
    n_listed: int  # its signatures in the list
    n_signatures: int  # its signatures in the release (under the list's filters) that hold the value
    n_agree: int  # of those, the ones whose value has the list's sign
    n_cell_lines: int
    n_cell_lines_agree: int  # cell lines where most of its signatures agree
    cell_lines: tuple[str, ...]

    @property
    def agreement(self) -> float:
        return self.n_agree / self.n_signatures if self.n_signatures else 0.0


@dataclass(frozen=True, slots=True)
class PerturbagenGroup(PerturbagenCounts):
    """A perturbagen of a gene's list: agreement by the gene's CD."""

    median_cd: float
    median_logfc: float


@dataclass(frozen=True, slots=True)
class SetPerturbagenGroup(PerturbagenCounts):
    """A perturbagen of a set search's list: agreement by the sign of the set score."""

    median_score: float
    median_z_up: float | None  # None without an up set
    median_z_down: float | None


def _first_hits(hits) -> dict[str, tuple[int, str, str, int]]:
    """pert_id -> (best position, name, type, signatures listed), in the order of each perturbagen's best hit."""
    first: dict[str, tuple[int, str, str, int]] = {}
    for hit in hits:
        s = hit.signature
        position, name, pert_type, n = first.get(s.pert_id, (hit.position, s.pert_name, s.pert_type, 0))
        first[s.pert_id] = (position, name, pert_type, n + 1)
    return first


@dataclass(frozen=True)
class PerturbagenIndex:
    """Every signature column of a release, grouped by perturbagen: the columns of the perturbagen coded
    i = code[(pert_id, pert_type)] are columns[start[i]:start[i + 1]], ascending, with their cell lines.

    About 8 bytes a signature plus one dict entry per perturbagen, kept per process (search.process_memo).
    It replaces a query per page for the listed perturbagens' signatures, whose index scan visits a heap
    page for each of them and whose rows Django then builds, page after page.
    """

    code: dict[tuple[str, str], int]
    start: np.ndarray  # (n_perturbagens + 1,) int64
    columns: np.ndarray  # (n_signatures,) int32, perturbagen by perturbagen
    cell_line: np.ndarray  # (n_signatures,) int32 CellLine id of each of `columns`


_process_index: ProcessMemo[PerturbagenIndex] = ProcessMemo(size=4)


def perturbagen_index(release) -> PerturbagenIndex:
    """The release's PerturbagenIndex, read with one query the first time this process asks."""

    def read() -> PerturbagenIndex:
        code: dict[tuple[str, str], int] = {}
        codes, columns, cells = [], [], []
        rows = Signature.objects.filter(release=release).values_list("pert_id", "pert_type", "column", "cell_line_id").order_by()
        for pert_id, pert_type, column, cell in rows.iterator(chunk_size=20_000):
            codes.append(code.setdefault((pert_id, pert_type), len(code)))
            columns.append(column)
            cells.append(cell)
        codes_a, columns_a = np.array(codes, dtype=np.int64), np.array(columns, dtype=np.int32)
        order = np.lexsort((columns_a, codes_a))
        start = np.searchsorted(codes_a[order], np.arange(len(code) + 1))
        return PerturbagenIndex(code=code, start=start, columns=columns_a[order], cell_line=np.array(cells, dtype=np.int32)[order])

    return _process_index.get(release.cache_stamp, read)


@dataclass(frozen=True)
class _Members:
    """The signatures of a page's perturbagens under the lists' filters, concatenated perturbagen by perturbagen
    (each one's ascending): key i = keys[i] = (pert_id, pert_type) owns positions bounds[i]:bounds[i + 1]."""

    keys: list[tuple[str, str]]
    position: dict[tuple[str, str], int]  # key -> i
    bounds: np.ndarray  # (n_keys + 1,) int64
    owner: np.ndarray  # (n,) int64: the key of each member
    columns: np.ndarray  # (n,) int64
    cell: np.ndarray  # (n,) int64: the member's cell line as its index in `cell_names`
    cell_names: list[str]  # the release's cell lines, sorted


def _floats(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def _members(release, params: SearchParams, types, firsts) -> _Members:
    """The signatures of every listed perturbagen that pass the filters of `params` (types, cell lines, dose,
    time: search.query.ColumnTable.select, the rule the exact search applies). No query once the release's
    PerturbagenIndex is read."""
    index = perturbagen_index(release)
    keys = sorted({(pert_id, pert_type) for first in firsts for pert_id, (_, _, pert_type, _) in first.items()})
    codes = np.array([index.code[key] for key in keys], dtype=np.int64)
    starts = index.start[codes]
    lengths = index.start[codes + 1] - starts
    # positions in the index of every key's columns, key after key: (sum(lengths),)
    positions = np.arange(lengths.sum()) + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    owner = np.repeat(np.arange(len(keys), dtype=np.int64), lengths)
    columns = index.columns[positions].astype(np.int64)
    cells = index.cell_line[positions]
    if params.filtered:
        # The keys' types are the lists' types, so only the cell line, dose and time filters can drop a column.
        passing, _ = column_table(release).select(params, types, release_facets(release))
        keep = np.isin(columns, passing)
        columns, cells, owner = columns[keep], cells[keep], owner[keep]
    by_name = sorted((name, cell_id) for name, (cell_id, _) in release_facets(release).cell_lines.items())
    ids = np.array([cell_id for _, cell_id in by_name], dtype=np.int64)
    order = np.argsort(ids)
    return _Members(
        keys=keys, position={key: i for i, key in enumerate(keys)}, bounds=np.searchsorted(owner, np.arange(len(keys) + 1)),
        owner=owner, columns=columns, cell=order[np.searchsorted(ids, cells, sorter=order)], cell_names=[name for name, _ in by_name],
    )


def _medians(members: _Members, value: np.ndarray) -> list[float]:
    """Each key's median of `value` (one per member), as np.median gives it: NaN for a key with a NaN or no member.

    Keys of a few signatures each (most pages) are sorted together, by value and then stably by key; keys of
    many (compounds profiled across a release's cell lines) take one partition each, cheaper than sorting
    every value when the groups are large (bench/bench_perturbagen_groups.py)."""
    starts, lengths = members.bounds[:-1], np.diff(members.bounds)
    has_nan = np.bincount(members.owner, weights=np.isnan(value), minlength=len(members.keys)) > 0
    if len(value) > _LARGE_GROUPS * max(len(members.keys), 1):
        medians = np.array([np.median(value[a:b]) if b > a else np.nan for a, b in zip(starts.tolist(), members.bounds[1:].tolist())])
    else:
        by_value = np.argsort(value)  # NaN last; the order of equal values does not change a median
        order = by_value[np.argsort(members.owner[by_value], kind="stable")]  # by key, then by value: what np.lexsort((value, owner)) gives
        ordered = np.append(value[order], np.nan)  # a key without members reads the NaN past the end
        lo, hi = starts + (lengths - 1) // 2, starts + lengths // 2
        lo[lengths == 0] = hi[lengths == 0] = len(value)
        medians = (ordered[lo] + ordered[hi]) / 2
    medians[has_nan | (lengths == 0)] = np.nan
    return medians.tolist()


_LARGE_GROUPS = 200  # mean signatures per key above which each key's median is taken on its own


def _counts(first: dict, members: _Members, value: np.ndarray, sign: float):
    """For each perturbagen of one list: (its PerturbagenCounts fields as a dict, its key's index in `members`).

    `value` (one per member signature) is the value whose sign is compared with the list's `sign` (+1 or -1);
    a signature agrees where value x sign > 0, and a cell line where most of the key's signatures in it agree."""
    n_keys, n_names = len(members.keys), len(members.cell_names)
    agree = value * sign > 0
    n_signatures = np.diff(members.bounds).tolist()
    n_agree = np.bincount(members.owner, weights=agree, minlength=n_keys).astype(np.int64).tolist()
    code = members.owner * n_names + members.cell  # (key, cell line) as one number
    size = n_keys * n_names  # a page's few hundred perturbagens x the release's cell lines: counted in bins, no sort
    pair_n, pair_agree = np.bincount(code, minlength=size), np.bincount(code, weights=agree, minlength=size)
    pairs = np.flatnonzero(pair_n)  # sorted
    pair_agrees = 2 * pair_agree[pairs] > pair_n[pairs]
    pair_key = pairs // n_names
    n_cell_lines = np.bincount(pair_key, minlength=n_keys).tolist()
    n_cell_lines_agree = np.bincount(pair_key, weights=pair_agrees, minlength=n_keys).astype(np.int64).tolist()
    pair_bounds = np.searchsorted(pair_key, np.arange(n_keys + 1)).tolist()
    pair_cell = (pairs % n_names).tolist()
    names = members.cell_names
    for pert_id, (position, name, pert_type, n_listed) in first.items():
        i = members.position[(pert_id, pert_type)]
        fields = dict(
            pert_id=pert_id, pert_name=name, pert_type=pert_type, best_position=position, n_listed=n_listed,
            n_signatures=n_signatures[i], n_agree=n_agree[i], n_cell_lines=n_cell_lines[i], n_cell_lines_agree=n_cell_lines_agree[i],
            cell_lines=tuple(names[c] for c in pair_cell[pair_bounds[i] : pair_bounds[i + 1]]),
        )
        yield fields, i


def group_by_perturbagen(release, gene, params: SearchParams, hit_lists: list[HitList]) -> list[list[PerturbagenGroup]]:
    """For each list, its perturbagens in the order of their best hit, each over all its signatures.

    One store read for all the lists, and no query once the release's PerturbagenIndex is read.
    """
    firsts = [_first_hits(hl.hits) for hl in hit_lists]
    types = sorted({t for hl in hit_lists for t in hl.pert_types})
    if not any(firsts):
        return [[] for _ in hit_lists]
    members = _members(release, params, types, firsts)
    values = store_for(release).read_gene(gene.pk, ranks=False)
    cd, logfc = _floats(values.cd[members.columns]), _floats(values.logfc[members.columns])
    median_cd, median_logfc = _medians(members, cd), _medians(members, logfc)
    out = []
    for hl, first in zip(hit_lists, firsts):
        sign = 1.0 if hl.direction == "up" else -1.0
        out.append([
            PerturbagenGroup(**fields, median_cd=median_cd[i], median_logfc=median_logfc[i])
            for fields, i in _counts(first, members, cd, sign)
        ])
    return out


def group_set_hits(release, result) -> dict[str, list[SetPerturbagenGroup]]:
    """The mimic and reverse lists of a search.set_search.SetSearchResult grouped by perturbagen, each
    perturbagen over all its signatures that the search scored (the same types and cell lines). One query."""
    lists = {"mimic": (result.mimic, 1.0), "reverse": (result.reverse, -1.0)}
    firsts = {key: _first_hits(hits) for key, (hits, _) in lists.items()}
    members = _members(release, SearchParams(types=result.types, cell_lines=result.cell_lines, dose=result.dose, time=result.time), result.types, firsts.values())
    # Every member is a signature the search scored: result.columns (sorted) holds them all.
    scored = np.searchsorted(result.columns, members.columns)
    score = _floats(result.score[scored])
    median_score = _medians(members, score)
    none = [None] * len(members.keys)
    median_z_up = none if result.z_up is None else _medians(members, _floats(result.z_up[scored]))
    median_z_down = none if result.z_down is None else _medians(members, _floats(result.z_down[scored]))
    return {
        key: [
            SetPerturbagenGroup(**fields, median_score=median_score[i], median_z_up=median_z_up[i], median_z_down=median_z_down[i])
            for fields, i in _counts(firsts[key], members, score, sign)
        ]
        for key, (_, sign) in lists.items()
    }
