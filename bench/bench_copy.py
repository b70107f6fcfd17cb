"""Bulk load of the index's rows (GeneTopEntry, COPY by l1kweb.bulk.copy_rows as build_index does) with and without the
two single-column indexes its release and gene foreign keys had before migration signatures 0009.

In its own PostgreSQL database, loads N GeneTopEntry rows (random genes,
signatures, values) into the table as migrated (indexes: primary key,
signature, topentry_lookup) and, as the baseline, into the same table with
the two indexes on release_id and gene_id created again; twice each (in both
orders), each into the freshly truncated table inside a transaction that is
rolled back, and reports the faster of each way's two runs as rows/s and the
ratio. The COPY's time is PostgreSQL's more than the client's: every index
is one more B-tree insert per row.

    .venv/bin/python bench/bench_copy.py [--rows 2000000]
(needs PostgreSQL at 127.0.0.1:5432). A release at 23,614 genes has about ten million such rows.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from own_database import setup_django, tear_down  # noqa: E402

DB = "l1kweb_bench_copy"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="l1kweb-copy-"))
    print(f"{platform.node()}: {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}; {args.rows:,} rows", flush=True)
    setup_django(DB, data_dir)
    from django.db import transaction

    from conversion.models import Dataset, DatasetKind
    from l1kweb.bulk import copy_rows
    from signatures.index import ENTRY_COLUMNS
    from signatures.models import CellLine, GeneTopEntry, Release, Signature

    n = args.rows
    dataset = Dataset.objects.create(name="copy", kind=DatasetKind.RNASEQ_LIKE, path="copy.gctx", n_profiles=1, n_genes=1)
    release = Release.objects.create(name="copy", dataset=dataset, directory="releases/copy")
    cell = CellLine.objects.create(name="CELL")
    sigs = Signature.objects.bulk_create([Signature(release=release, sig_id=f"S{i}", column=i, pert_type="chemical", pert_id=f"P{i}", pert_name=f"p{i}", batch="B", n_replicates=3, n_controls=3, cell_line=cell) for i in range(2000)])
    rng = np.random.default_rng(0)
    columns = {
        "release_id": release.pk, "gene_id": rng.integers(1, 60_000, size=n), "pert_type": "chemical",
        "direction": np.where(rng.random(n) < 0.5, "up", "down"), "signature_id": rng.choice([s.pk for s in sigs], size=n),
        "cd": rng.standard_normal(n).astype(np.float32), "logfc": rng.standard_normal(n).astype(np.float32),
        "rank": rng.integers(1, 23_615, size=n).astype(np.int32), "top_cd": rng.random(n) < 0.5, "top_logfc": rng.random(n) < 0.5, "top_rank": rng.random(n) < 0.5,
    }

    def python_rows():
        # As build_index builds them: one tuple of Python values per row.
        return (
            (release.pk, int(g), "chemical", d, int(s), float(c), float(f), int(r), bool(a), bool(b), bool(e))
            for g, d, s, c, f, r, a, b, e in zip(
                columns["gene_id"], columns["direction"], columns["signature_id"], columns["cd"], columns["logfc"], columns["rank"],
                columns["top_cd"], columns["top_logfc"], columns["top_rank"],
            )
        )

    from django.db import connection

    table = GeneTopEntry._meta.db_table
    extra = {"bench_topentry_release": "release_id", "bench_topentry_gene": "gene_id"}

    def with_fk_indexes():
        with connection.cursor() as cursor:
            for name, column in extra.items():
                cursor.execute(f"CREATE INDEX {name} ON {table} ({column})")
        try:
            return copy_rows(GeneTopEntry, ENTRY_COLUMNS, python_rows())
        finally:
            with connection.cursor() as cursor:
                for name in extra:
                    cursor.execute(f"DROP INDEX IF EXISTS {name}")

    loads = {"with the release and gene indexes (before)": with_fk_indexes, "as migrated (now)": lambda: copy_rows(GeneTopEntry, ENTRY_COLUMNS, python_rows())}
    times: dict[str, list[float]] = {name: [] for name in loads}
    for name in [*loads, *reversed(loads)]:  # each twice, in both orders
        with transaction.atomic():
            t = time.perf_counter()
            assert loads[name]() == n
            times[name].append(time.perf_counter() - t)
            assert GeneTopEntry.objects.count() == n
            transaction.set_rollback(True)
        with connection.cursor() as cursor:  # fresh storage and indexes for the next load, not the dead rows of this one
            cursor.execute(f"TRUNCATE {table}")
        print(f"  {name:<44} {times[name][-1]:7.1f} s   {n / times[name][-1]:12,.0f} rows/s", flush=True)
    results = {name: min(t) for name, t in times.items()}
    base = results["with the release and gene indexes (before)"]
    print("\n| table | seconds | rows/s | x before |")
    print("| --- | --- | --- | --- |")
    for name, seconds in results.items():
        print(f"| {name} | {seconds:.1f} | {n / seconds:,.0f} | {base / seconds:.2f} |")
    print(f"\nload {os.getloadavg()[0]:.2f} at the end")
    tear_down(DB, data_dir)


if __name__ == "__main__":
    main()
