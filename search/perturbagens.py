"""A gene's hits grouped by perturbagen: does the effect hold across a perturbagen's signatures?

One compound is often profiled at several doses, times and cell lines, and one
gene is knocked out by several sgRNAs; a single strong signature says less than
a perturbagen whose every signature moves the gene the same way. For the
perturbagens of one result list this reads the gene's values in all of their
signatures in the release (under the same filters as the list) and reports,
per perturbagen: how many signatures there are, how many move the gene in the
list's direction (CD sign), in how many cell lines, and the median CD and
log2FC.

The gene's row is read from the gene-major store once; the perturbagens' other
signatures come from PostgreSQL in one query.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from search.query import HitList, SearchParams, signature_filter
from search.stores import store_for
from signatures.models import Signature


@dataclass(frozen=True, slots=True)
class PerturbagenGroup:
    pert_id: str
    pert_name: str
    pert_type: str
    best_position: int  # the position of its best signature in the list
    n_listed: int  # its signatures in the list
    n_signatures: int  # its signatures in the release (under the list's filters) that hold the gene
    n_agree: int  # of those, the ones whose CD has the list's sign
    n_cell_lines: int
    n_cell_lines_agree: int  # cell lines where most of its signatures agree
    median_cd: float
    median_logfc: float
    cell_lines: tuple[str, ...]

    @property
    def agreement(self) -> float:
        return self.n_agree / self.n_signatures if self.n_signatures else 0.0


def group_by_perturbagen(release, gene, params: SearchParams, hit_lists: list[HitList]) -> list[list[PerturbagenGroup]]:
    """For each list, its perturbagens in the order of their best hit, each over all its signatures.

    One store read and one query for all the lists.
    """
    firsts = []
    for hl in hit_lists:
        first: dict[str, tuple[int, str, str, int]] = {}  # pert_id -> (best position, name, type, signatures listed)
        for hit in hl.hits:
            s = hit.signature
            position, name, pert_type, n = first.get(s.pert_id, (hit.position, s.pert_name, s.pert_type, 0))
            first[s.pert_id] = (position, name, pert_type, n + 1)
        firsts.append(first)
    wanted = sorted({p for first in firsts for p in first})
    if not wanted:
        return [[] for _ in hit_lists]
    types = sorted({t for hl in hit_lists for t in hl.pert_types})
    rows = list(
        Signature.objects.filter(**signature_filter(release, params, types), pert_id__in=wanted)
        .values_list("column", "pert_id", "pert_type", "cell_line__name")
        .order_by("column")
    )
    values = store_for(release).read_gene(gene.pk)
    columns = np.array([r[0] for r in rows], dtype=np.int64)
    cd = np.asarray(values.cd[columns], dtype=np.float64)
    logfc = np.asarray(values.logfc[columns], dtype=np.float64)
    members: dict[tuple[str, str], list[int]] = {}  # (pert_id, pert_type) -> row positions
    for i, (_, pert_id, pert_type, _) in enumerate(rows):
        members.setdefault((pert_id, pert_type), []).append(i)
    out = []
    for hl, first in zip(hit_lists, firsts):
        sign = 1.0 if hl.direction == "up" else -1.0
        groups = []
        for pert_id, (position, name, pert_type, n_listed) in first.items():
            idx = np.array(members.get((pert_id, pert_type), []), dtype=np.int64)
            agree = cd[idx] * sign > 0
            per_cell: dict[str, list[bool]] = {}
            for i, ok in zip(idx, agree):
                per_cell.setdefault(rows[i][3], []).append(bool(ok))
            groups.append(
                PerturbagenGroup(
                    pert_id=pert_id, pert_name=name, pert_type=pert_type, best_position=position, n_listed=n_listed,
                    n_signatures=len(idx), n_agree=int(agree.sum()), n_cell_lines=len(per_cell),
                    n_cell_lines_agree=sum(2 * sum(v) > len(v) for v in per_cell.values()),
                    median_cd=float(np.median(cd[idx])), median_logfc=float(np.median(logfc[idx])),
                    cell_lines=tuple(sorted(per_cell)),
                )
            )
        out.append(groups)
    return out
