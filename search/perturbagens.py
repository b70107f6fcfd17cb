"""Hits grouped by perturbagen: does the effect hold across a perturbagen's signatures?

One compound is often profiled at several doses, times and cell lines, and one
gene is knocked out by several sgRNAs; a single strong signature says less than
a perturbagen whose every signature points the same way. For the perturbagens
of one result list this reads a value in all of their signatures in the release
(under the same filters as the list) and reports, per perturbagen: how many
signatures there are, how many have the value's sign in the list's direction,
in how many cell lines, and the median of the value.

Two kinds of list share that one code path (`_first_hits`, `_member_rows`,
`_counts`):
  - a gene's lists (`group_by_perturbagen`): the value is the gene's CD (and
    the median log2FC beside it); the gene's row is read from the gene-major
    store once;
  - a gene-set search's mimic and reverse lists (`group_set_hits`): the value
    is the set score z_up - z_down (search.set_search), which the search has
    computed for every signature it searched; mimic agrees where the score is
    > 0, reverse where it is < 0.
The perturbagens' other signatures come from PostgreSQL in one query.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import numpy as np

from search.query import HitList, SearchParams, signature_filter
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


def _median(values: np.ndarray) -> float:
    """np.median of a perturbagen's few values (NaN if any is NaN or there are none), without its per-call
    overhead, larger than the median of a few values itself: a page takes the medians of a few hundred perturbagens."""
    v = values.tolist()
    if not v or any(x != x for x in v):
        return float("nan")
    return float(statistics.median(v))


def _first_hits(hits) -> dict[str, tuple[int, str, str, int]]:
    """pert_id -> (best position, name, type, signatures listed), in the order of each perturbagen's best hit."""
    first: dict[str, tuple[int, str, str, int]] = {}
    for hit in hits:
        s = hit.signature
        position, name, pert_type, n = first.get(s.pert_id, (hit.position, s.pert_name, s.pert_type, 0))
        first[s.pert_id] = (position, name, pert_type, n + 1)
    return first


def _member_rows(release, params: SearchParams, types, firsts) -> tuple[list[tuple], dict[tuple[str, str], list[int]]]:
    """The signatures of every listed perturbagen under the filters, by column: (column, pert_id, pert_type, cell line)
    rows, and (pert_id, pert_type) -> positions in those rows. One query."""
    wanted = sorted({p for first in firsts for p in first})
    if not wanted:
        return [], {}
    rows = list(
        Signature.objects.filter(**signature_filter(release, params, types), pert_id__in=wanted)
        .values_list("column", "pert_id", "pert_type", "cell_line__name")
        .order_by("column")
    )
    members: dict[tuple[str, str], list[int]] = {}
    for i, (_, pert_id, pert_type, _) in enumerate(rows):
        members.setdefault((pert_id, pert_type), []).append(i)
    return rows, members


def _counts(first: dict, members: dict, rows: list[tuple], value: np.ndarray, sign: float):
    """For each perturbagen of one list: (its PerturbagenCounts fields as a dict, its positions in `rows`).

    `value` (len(rows),) is the value whose sign is compared with the list's `sign` (+1 or -1)."""
    for pert_id, (position, name, pert_type, n_listed) in first.items():
        idx = np.array(members.get((pert_id, pert_type), []), dtype=np.int64)
        agree = value[idx] * sign > 0
        per_cell: dict[str, list[bool]] = {}
        for i, ok in zip(idx, agree):
            per_cell.setdefault(rows[i][3], []).append(bool(ok))
        fields = dict(
            pert_id=pert_id, pert_name=name, pert_type=pert_type, best_position=position, n_listed=n_listed,
            n_signatures=len(idx), n_agree=int(agree.sum()), n_cell_lines=len(per_cell),
            n_cell_lines_agree=sum(2 * sum(v) > len(v) for v in per_cell.values()), cell_lines=tuple(sorted(per_cell)),
        )
        yield fields, idx


def group_by_perturbagen(release, gene, params: SearchParams, hit_lists: list[HitList]) -> list[list[PerturbagenGroup]]:
    """For each list, its perturbagens in the order of their best hit, each over all its signatures.

    One store read and one query for all the lists.
    """
    firsts = [_first_hits(hl.hits) for hl in hit_lists]
    types = sorted({t for hl in hit_lists for t in hl.pert_types})
    if not any(firsts):
        return [[] for _ in hit_lists]
    rows, members = _member_rows(release, params, types, firsts)
    values = store_for(release).read_gene(gene.pk)
    columns = np.array([r[0] for r in rows], dtype=np.int64)
    cd = np.asarray(values.cd[columns], dtype=np.float64)
    logfc = np.asarray(values.logfc[columns], dtype=np.float64)
    out = []
    for hl, first in zip(hit_lists, firsts):
        sign = 1.0 if hl.direction == "up" else -1.0
        out.append([
            PerturbagenGroup(**fields, median_cd=_median(cd[idx]), median_logfc=_median(logfc[idx]))
            for fields, idx in _counts(first, members, rows, cd, sign)
        ])
    return out


def group_set_hits(release, result) -> dict[str, list[SetPerturbagenGroup]]:
    """The mimic and reverse lists of a search.set_search.SetSearchResult grouped by perturbagen, each
    perturbagen over all its signatures that the search scored (the same types and cell lines). One query."""
    lists = {"mimic": (result.mimic, 1.0), "reverse": (result.reverse, -1.0)}
    firsts = {key: _first_hits(hits) for key, (hits, _) in lists.items()}
    rows, members = _member_rows(release, SearchParams(types=result.types, cell_lines=result.cell_lines, dose=result.dose, time=result.time), result.types, firsts.values())
    # Every row is a signature the search scored: result.columns (sorted) holds them all.
    at = np.searchsorted(result.columns, np.array([r[0] for r in rows], dtype=np.int64))
    score = result.score[at]
    z_up = None if result.z_up is None else result.z_up[at]
    z_down = None if result.z_down is None else result.z_down[at]
    return {
        key: [
            SetPerturbagenGroup(
                **fields, median_score=_median(score[idx]),
                median_z_up=None if z_up is None else _median(z_up[idx]), median_z_down=None if z_down is None else _median(z_down[idx]),
            )
            for fields, idx in _counts(firsts[key], members, rows, score, sign)
        ]
        for key, (_, sign) in lists.items()
    }
