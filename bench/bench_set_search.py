"""Gene-set search over N signatures: a 100-up + 100-down query, end to end and by part, against a per-signature baseline.

In its own PostgreSQL database and a temporary DATA_DIR: a release of N
signatures (Signature rows by COPY, 50 cell lines) and its stores, with
N_GENES genes in the registry and the store (a gene's row in the gene-major
store is N values whatever the number of genes, so the read the search does is
that of a full-size store; the score uses the store's gene count). The store
is in the page cache, as it is on a server that has answered a few queries.

Measured, best of --repeats: search.set_search.search_sets end to end (the API
view adds its serializer), and its parts: resolving the 200 entries
(search.lookup), reading the query genes' ranks (one gene-major row each,
added into each set's rank sums), and scoring every signature (z, p, FDR,
the 50 best and worst). The baseline in the same run is the straightforward
per-signature way: for each signature, its ranks from the signature-major
cd.gctx and scipy.stats.mannwhitneyu of each set against the other genes,
timed on --baseline signatures and scaled to N.

    .venv/bin/python bench/bench_set_search.py [--signatures 100000] [--genes 2000] [--repeats 3]
(needs PostgreSQL at 127.0.0.1:5432).
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

DB = "l1kweb_bench_sets"
CELL_LINES = [f"CELL{i:02d}" for i in range(50)]
BLOCK = 5000


def build(n_sigs: int, n_genes: int, data_dir: Path, rng):
    from conversion.models import Dataset, DatasetKind, Gene, GeneStatus
    from l1kweb.bulk import copy_rows
    from signatures.models import CellLine, Release, ReleaseStatus, Signature
    from signatures.store import StoreWriter

    entrez = np.arange(1, n_genes + 1, dtype=np.int64) * 11 + 200_000
    symbols = [f"GS{i}" for i in range(n_genes)]
    Gene.objects.bulk_create([Gene(entrez_id=int(e), symbol=s, name=s, status=GeneStatus.MODEL_ONLY, in_model_output=True) for e, s in zip(entrez, symbols)], batch_size=5000)
    dataset = Dataset.objects.create(name="sets", kind=DatasetKind.RNASEQ_LIKE, path="sets.gctx", n_profiles=n_sigs, n_genes=n_genes)
    release = Release.objects.create(name="sets", dataset=dataset, status=ReleaseStatus.COMPLETE, directory="releases/sets", n_signatures=n_sigs, n_genes=n_genes, index_built=True)
    CellLine.objects.bulk_create([CellLine(name=c) for c in CELL_LINES], ignore_conflicts=True)
    cells = dict(CellLine.objects.values_list("name", "pk"))
    sig_ids = [f"P{j // 200:05d}:BRD-{j:07d}:10:24" for j in range(n_sigs)]
    columns = ("release_id", "sig_id", "column", "pert_type", "pert_id", "pert_name", "cell_line_id", "dose", "dose_unit", "time", "time_unit",
               "batch", "n_replicates", "n_controls", "controls", "target_gene", "pert_targets", "pert_moa")
    copy_rows(Signature, columns, ((release.pk, s, j, "chemical", f"BRD-{j:07d}", f"drug{j}", cells[CELL_LINES[(j // 200) % 50]], 10.0, "uM", 24.0, "h",
                                    f"P{j // 200:05d}", 3, 30, "all", "", "", "") for j, s in enumerate(sig_ids)))
    with StoreWriter(release.store_dir, entrez, n_sigs, symbols=symbols) as writer:
        for start in range(0, n_sigs, BLOCK):
            k = min(BLOCK, n_sigs - start)
            cd = rng.standard_normal((k, n_genes), dtype=np.float32)
            cd /= np.linalg.norm(cd, axis=1, keepdims=True)
            writer.write(start, sig_ids[start : start + k], cd, cd * np.float32(30))
    return release, symbols


def baseline_seconds(release, up_positions, down_positions, n: int) -> float:
    """Per signature: its CD from the signature-major GCTX, ranks, scipy's Mann-Whitney U of each set."""
    from scipy.stats import mannwhitneyu, rankdata

    from signatures.store import open_store

    with open_store(release.store_dir) as store:
        t = time.perf_counter()
        for column in range(n):
            cd, _ = store.read_signature(column)
            ranks = rankdata(-cd)
            rest = np.ones(len(cd), dtype=bool)
            rest[up_positions] = rest[down_positions] = False
            mannwhitneyu(ranks[up_positions], ranks[rest], method="asymptotic")
            mannwhitneyu(ranks[down_positions], ranks[rest], method="asymptotic")
        return time.perf_counter() - t


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signatures", type=int, default=100_000)
    parser.add_argument("--genes", type=int, default=2000)
    parser.add_argument("--set-size", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", type=int, default=2000, help="Signatures the per-signature baseline is timed on (scaled to N).")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="l1kweb-sets-"))
    print(f"{platform.node()}: {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}; {args.signatures} signatures x {args.genes} genes", flush=True)
    setup_django(DB, data_dir)
    from search import set_search
    from search.stores import store_for

    rng = np.random.default_rng(0)
    t = time.perf_counter()
    release, symbols = build(args.signatures, args.genes, data_dir, rng)
    print(f"built in {time.perf_counter() - t:.1f} s", flush=True)
    chosen = rng.choice(args.genes, size=2 * args.set_size, replace=False)
    up, down = [symbols[i] for i in chosen[: args.set_size]], [symbols[i] for i in chosen[args.set_size :]]

    store = store_for(release)
    set_search.search_sets(release, up, down)  # warms the page cache and the process
    timings = {"end to end": [], "resolve": [], "read ranks": [], "score": []}
    for _ in range(args.repeats):
        t = time.perf_counter()
        result = set_search.search_sets(release, up, down)
        timings["end to end"].append(time.perf_counter() - t)
        t = time.perf_counter()
        gu, gd = set_search.resolve_set("up", up, store), set_search.resolve_set("down", down, store)
        timings["resolve"].append(time.perf_counter() - t)
        t = time.perf_counter()
        su, sd = set_search._rank_sums(store, gu.genes, None), set_search._rank_sums(store, gd.genes, None)
        timings["read ranks"].append(time.perf_counter() - t)
        t = time.perf_counter()
        z_up, z_down = (set_search.set_z_from_sums(*sums, len(g.genes), store.n_genes) for sums, g in ((su, gu), (sd, gd)))
        score = set_search.combined_score(z_up, z_down)
        set_search.benjamini_hochberg(set_search.p_values(score, 2))
        set_search.top_positions(score, 50, largest=True), set_search.top_positions(score, 50, largest=False)
        timings["score"].append(time.perf_counter() - t)
    assert result.n_signatures == args.signatures and len(result.mimic) == 50
    position = {s: i for i, s in enumerate(symbols)}
    n_base = min(args.baseline, args.signatures)
    base = baseline_seconds(release, [position[s] for s in up], [position[s] for s in down], n_base) / n_base * args.signatures
    best = {k: min(v) for k, v in timings.items()}
    print(f"\n| part | seconds (best of {args.repeats}) | seconds at 1,000,000 signatures (all but resolving linear in N) |")
    print("| --- | --- | --- |")
    factor = 1e6 / args.signatures
    for k, v in best.items():
        scaled = {"resolve": v, "end to end": best["resolve"] + (v - best["resolve"]) * factor}.get(k, v * factor)
        print(f"| {k} | {v:.3f} | {scaled:.2f} |")
    print(f"| baseline: per signature, scipy (timed on {n_base}, scaled) | {base:.1f} | {base * 1e6 / args.signatures:.0f} |")
    print(f"\nspeed-up over the baseline: {base / best['end to end']:.0f}x; load {os.getloadavg()[0]:.2f} at the end")
    tear_down(DB, data_dir)


if __name__ == "__main__":
    main()
