"""Signature page and API latency on a release of full gene count, against baselines in the same run.

In its own PostgreSQL database and a temporary DATA_DIR (bench/own_database.py):
--genes (23,614) genes in the registry and in the store, as a full release
has, and --signatures (2,000) signatures in 50 cell lines, with their store
(StoreWriter, random unit-norm CD). A signature's page reads one row of the
signature-major store (all its genes), ranks it, looks its genes up in the
registry (one query for all 23,614) and draws a volcano of every gene, so its
cost grows with the gene count, not with the number of signatures; 2,000
signatures keep the store small (the row read is the same).

Requests go through Django's full stack in this process (django.test.Client:
middleware, throttles, response cache, templates, JSON rendering; no HTTP
server or network), --requests per kind, each on a signature drawn at random:
  page cold   GET /signatures/<id>/?_=<n>      (a parameter of its own: never from the response cache)
  page warm   GET /signatures/<id>/            (--warm-pool ids, each answered once before)
  api cold    GET /api/signatures/<id>/?_=<n>
  api warm    GET /api/signatures/<id>/
and, as baselines measured in the same run:
  home        GET /                            (the same stack with almost no work)
  store row   SignatureStore.read_signature    (the signature's row from the store alone)
p50 and p95 in milliseconds, and the response size.

    .venv/bin/python bench/bench_signature_page.py [--signatures 2000] [--genes 23614] [--requests 200]
(needs PostgreSQL at 127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from own_database import setup_django, tear_down  # noqa: E402

DB = "l1kweb_bench_signature_page"
CELL_LINES = [f"CELL{i:02d}" for i in range(50)]
BLOCK = 500


def build(n_sigs: int, n_genes: int, data_dir: Path, rng):
    from conversion.models import Dataset, DatasetKind, Gene
    from l1kweb.bulk import copy_rows
    from signatures.models import CellLine, Release, ReleaseStatus, Signature
    from signatures.store import StoreWriter

    entrez = np.arange(1, n_genes + 1, dtype=np.int64)
    symbols = [f"G{e}" for e in entrez]
    copy_rows(Gene, ("entrez_id", "symbol", "name", "ensembl_id", "status", "in_model_output"),
              ((int(e), s, f"gene {e}", "", "landmark" if e <= 978 else "model_only", True) for e, s in zip(entrez, symbols)))
    dataset = Dataset.objects.create(name="sigpage", kind=DatasetKind.RNASEQ_LIKE, path="sigpage.gctx", n_profiles=3 * n_sigs, n_genes=n_genes)
    release = Release.objects.create(
        name="sigpage", dataset=dataset, status=ReleaseStatus.COMPLETE, is_active=True, directory="releases/sigpage", model_version="bench 1.0",
        n_signatures=n_sigs, n_genes=n_genes, index_built=True,
    )
    CellLine.objects.bulk_create([CellLine(name=c) for c in CELL_LINES], ignore_conflicts=True)
    cells = dict(CellLine.objects.values_list("name", "pk"))
    sig_ids = [f"P{j // 40:04d}_{CELL_LINES[(j // 40) % 50]}_24H:BRD-{j:07d}:10:{j}" for j in range(n_sigs)]
    columns = ("release_id", "sig_id", "column", "pert_type", "pert_id", "pert_name", "cell_line_id", "dose", "dose_unit", "time", "time_unit",
               "batch", "n_replicates", "n_controls", "controls", "target_gene", "pert_targets", "pert_moa")
    copy_rows(Signature, columns, ((release.pk, s, j, "chemical", f"BRD-{j:07d}", f"drug{j}", cells[CELL_LINES[(j // 40) % 50]], 10.0, "uM", 24.0, "h",
                                    f"P{j // 40:04d}", 3, 30, "all", "", "", "") for j, s in enumerate(sig_ids)))
    with StoreWriter(release.store_dir, entrez, n_sigs, symbols=symbols) as writer:
        for start in range(0, n_sigs, BLOCK):
            k = min(BLOCK, n_sigs - start)
            cd = rng.standard_normal((k, n_genes), dtype=np.float32)
            cd /= np.linalg.norm(cd, axis=1, keepdims=True)
            writer.write(start, sig_ids[start : start + k], cd, cd * np.float32(30) + rng.standard_normal((k, n_genes), dtype=np.float32) * np.float32(0.05))
    return release, sig_ids


def measure(label: str, call, n: int) -> dict:
    times, sizes = [], []
    for i in range(n):
        t = time.perf_counter()
        size = call(i)
        times.append((time.perf_counter() - t) * 1000)
        sizes.append(size)
    p50, p95 = np.percentile(times, [50, 95])
    print(f"  {label}: p50 {p50:.1f} ms", flush=True)
    return {"kind": label, "p50": p50, "p95": p95, "bytes": int(np.median(sizes))}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signatures", type=int, default=2000)
    parser.add_argument("--genes", type=int, default=23_614)
    parser.add_argument("--requests", type=int, default=200, help="Requests per kind.")
    parser.add_argument("--warm-pool", type=int, default=50, help="Signatures the warm runs draw from (their answers fit the local-memory cache's 300 entries).")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="l1kweb-sigpage-"))
    print(f"{platform.node()}: {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}; {args.signatures} signatures x {args.genes} genes", flush=True)
    rate = "100000000/minute"
    setup_django(DB, data_dir, ALLOWED_HOSTS="testserver", API_ANON_RATE=rate, PAGE_ANON_RATE=rate, DOWNLOAD_ANON_RATE=rate, DEBUG="0", L1KWEB_DEMO_DATA="0")
    from django.core.cache import cache
    from django.test import Client

    from search.stores import store_for

    rng = np.random.default_rng(0)
    t = time.perf_counter()
    release, sig_ids = build(args.signatures, args.genes, data_dir, rng)
    print(f"built in {time.perf_counter() - t:.1f} s", flush=True)
    client = Client()
    pick = random.Random(1)
    chosen = [pick.randrange(args.signatures) for _ in range(args.requests)]
    nonce = iter(range(10**9))

    def get(path):
        def call(i):
            r = client.get(path(chosen[i]))
            assert r.status_code == 200, (r.status_code, r.content[:300])
            return len(r.content)

        return call

    store = store_for(release)

    def store_row(i):
        cd, logfc = store.read_signature(chosen[i])
        return cd.nbytes + logfc.nbytes

    page = lambda j, cold: f"/signatures/{sig_ids[j]}/" + (f"?_={next(nonce)}" if cold else "")  # noqa: E731
    api = lambda j, cold: f"/api/signatures/{sig_ids[j]}/" + (f"?_={next(nonce)}" if cold else "")  # noqa: E731
    for j in range(3):  # the process, the store's files and the facets warmed once
        client.get(page(j, True)), client.get(api(j, True)), client.get("/")
    rows = [
        measure("store row (baseline)", store_row, args.requests),
        measure("home page (baseline)", get(lambda j: "/"), args.requests),
        measure("page cold", get(lambda j: page(j, True)), args.requests),
        measure("api cold", get(lambda j: api(j, True)), args.requests),
    ]
    # The cold runs filled the local-memory cache (300 entries, culled by a third when full): start it afresh, then
    # answer every id of the warm pool once, so the warm runs are served from the response cache.
    cache.clear()
    pool = sorted(set(chosen))[: args.warm_pool]
    chosen[:] = [pool[i % len(pool)] for i in range(args.requests)]
    for j in pool:
        client.get(page(j, False)), client.get(api(j, False))
    rows += [measure("page warm", get(lambda j: page(j, False)), args.requests), measure("api warm", get(lambda j: api(j, False)), args.requests)]
    print(f"\n| request ({args.requests} each, {args.genes:,} genes) | p50 ms | p95 ms | response bytes |")
    print("| --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['kind']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['bytes']:,} |")
    print(f"\nload {os.getloadavg()[0]:.2f} at the end")
    tear_down(DB, data_dir)


if __name__ == "__main__":
    main()
