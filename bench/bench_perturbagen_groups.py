"""A list's grouping by perturbagen (search.perturbagens): counts and medians in numpy against a plain loop, same run.

For 200 listed perturbagens with --per-perturbagen signatures each (default 8, 100 and 400: one compound at a few
doses to a compound profiled across the cell lines of a real release) in 50 cell lines, with random CD values,
it times what a gene page does per list: each perturbagen's signatures, how many agree with the list's
direction, in how many cell lines most of them do, their cell lines, and the median CD and log2FC
(`search.perturbagens._counts` and `_medians`). The baseline is the same computed perturbagen by perturbagen in
plain Python with statistics.median, as the grouping did before; and, to show where the medians' two methods
part, the numpy grouping with every median taken by one sort of all values. All give the same fields (checked).

    .venv/bin/python bench/bench_perturbagen_groups.py [--per-perturbagen 8 100 400] [--perturbagens 200] [--repeats 20]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "l1kweb.settings")

import django  # noqa: E402

django.setup()

from search import perturbagens  # noqa: E402
from search.perturbagens import _counts, _medians, _Members  # noqa: E402


def plain(first, owner_slices, cells, cd, logfc, sign):
    """Perturbagen by perturbagen, in plain Python: the fields of each group."""
    out = []
    for pert_id, (position, name, pert_type, n_listed) in first.items():
        at = owner_slices[pert_id]
        values, fcs = cd[at], logfc[at]
        agree = [v * sign > 0 for v in values]
        per_cell: dict[str, list[bool]] = {}
        for cell, ok in zip(cells[at], agree):
            per_cell.setdefault(cell, []).append(ok)

        def median(xs):
            return float("nan") if not xs or any(x != x for x in xs) else float(statistics.median(xs))

        out.append(dict(
            pert_id=pert_id, pert_name=name, pert_type=pert_type, best_position=position, n_listed=n_listed,
            n_signatures=len(agree), n_agree=sum(agree), n_cell_lines=len(per_cell),
            n_cell_lines_agree=sum(2 * sum(v) > len(v) for v in per_cell.values()), cell_lines=tuple(sorted(per_cell)),
            median_cd=median(values), median_logfc=median(fcs),
        ))
    return out


def vectorised(first, members, cd, logfc, sign):
    median_cd, median_logfc = _medians(members, cd), _medians(members, logfc)
    return [dict(fields, median_cd=median_cd[i], median_logfc=median_logfc[i]) for fields, i in _counts(first, members, cd, sign)]


def timed(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-perturbagen", type=int, nargs="+", default=[8, 100, 400])
    ap.add_argument("--perturbagens", type=int, default=200)
    ap.add_argument("--cell-lines", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=20, help="best of this many runs each (default 20)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    names = [f"CELL{i:03d}" for i in range(args.cell_lines)]
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; load {os.getloadavg()[0]:.2f}")
    print("| signatures per perturbagen | members | plain Python ms | numpy ms | ratio | numpy, medians by one sort at every size, ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    for per in args.per_perturbagen:
        k = args.perturbagens
        owner = np.repeat(np.arange(k, dtype=np.int64), per)
        cell = rng.integers(0, len(names), len(owner)).astype(np.int64)
        cd = rng.standard_normal(len(owner))
        logfc = cd * 3 + rng.standard_normal(len(owner))
        cd[rng.random(len(owner)) < 0.01] = np.nan  # a few signatures without CD
        keys = [(f"P{i}", "chemical") for i in range(k)]
        bounds = np.arange(k + 1, dtype=np.int64) * per
        members = _Members(keys=keys, position={key: i for i, key in enumerate(keys)}, bounds=bounds, owner=owner,
                           columns=np.arange(len(owner)), cell=cell, cell_names=names)
        first = {pert_id: (i + 1, f"name {i}", pert_type, 1) for i, (pert_id, pert_type) in enumerate(keys)}
        slices = {pert_id: slice(int(bounds[i]), int(bounds[i + 1])) for i, (pert_id, _) in enumerate(keys)}
        cells = np.array([names[c] for c in cell], dtype=object)
        cd_list, logfc_list = cd.tolist(), logfc.tolist()
        t_plain, a = timed(lambda: plain(first, slices, cells, cd_list, logfc_list, 1.0), args.repeats)
        t_new, b = timed(lambda: vectorised(first, members, cd, logfc, 1.0), args.repeats)
        threshold, perturbagens._LARGE_GROUPS = perturbagens._LARGE_GROUPS, float("inf")
        try:
            t_sorted, c = timed(lambda: vectorised(first, members, cd, logfc, 1.0), args.repeats)
        finally:
            perturbagens._LARGE_GROUPS = threshold
        for x, y in [pair for other in (b, c) for pair in zip(a, other)]:
            for name, value in x.items():
                same = (value != value and y[name] != y[name]) or value == y[name]
                if not same:
                    raise SystemExit(f"{x['pert_id']}: {name} differs: plain {value!r}, numpy {y[name]!r}")
        print(f"| {per} | {len(owner):,} | {t_plain * 1e3:.2f} | {t_new * 1e3:.2f} | {t_plain / t_new:.1f}x | {t_sorted * 1e3:.2f} |")


if __name__ == "__main__":
    main()
