"""A release rehearsal: N synthetic signatures from chunk files on disk through merge, index, files, activation, first queries.

In its own PostgreSQL database and a temporary DATA_DIR, the script lays out
what a signature job has once its batches are computed: a Release, its job and
one SignatureBatch per batch of BATCH signatures (two perturbation types,
chemical then CRISPR, 50 cell lines), each with its chunk file of float32 CD and
log2FC (unit-length CD with a few strong genes per signature). Then it runs the
project's own steps on them, each timed with its peak memory (the process's
VmHWM, reset before each step through /proc/self/clear_refs):

  merge     signatures.compute.merge: the stores (cd.gctx, logfc.gctx, gene_major.h5) and the Signature rows (COPY)
  index     signatures.index.build_index: the per-gene top-100 lists (GeneTopEntry, COPY)
  files     signatures.release_files.write_release_files: signature table, README, SHA-256 of every file
  activate  Release.activate (checks the stores against the rows)
  queries   the first requests through Django's test client: a gene's top list (index), the same filtered by
            a cell line and by a time every signature has (exact over all N signatures), and the gene page,
            unfiltered, by a cell line and by a dose every compound has; each twice (the second with a
            parameter of its own, so the response cache does not answer it)

and reports the disk the release used. The baseline in the same run is the
write of the chunk files (raw float32 bytes to disk), so each step is also
given as a multiple of it.

    .venv/bin/python bench/bench_release.py --signatures 100000 [--genes 23614] [--keep]
(needs PostgreSQL at 127.0.0.1:5432; about 0.6 MB of disk per signature at 23,614 genes, chunks included).
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

DB = "l1kweb_bench_release"
BATCH = 200  # signatures per batch chunk, about a plate's worth
CELL_LINES = [f"CELL{i:02d}" for i in range(50)]


def peak_reset() -> None:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def peak_gb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def disk_gb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e9


def lay_out(n_sigs: int, n_genes: int, data_dir: Path, rng) -> tuple:
    """Genes, dataset, release, job and batches with their chunk files; returns (release, gene ids, seconds of chunk writing)."""
    from conversion.formats.gctx import write_gctx
    from conversion.models import Dataset, DatasetKind, Gene, GeneStatus
    from l1kweb.paths import stored_data_path
    from signatures.batches import Batch, Group, batch_to_dict
    from signatures.compute import _write_chunk, chunk_path
    from signatures.models import BatchStatus, JobStage, Release, SignatureBatch, SignatureJob
    from l1kweb.jobs import JobStatus

    entrez = np.arange(1, n_genes + 1, dtype=np.int64) * 7 + 100_000
    Gene.objects.bulk_create([Gene(entrez_id=int(e), symbol=f"G{i}", name=f"gene {i}", status=GeneStatus.MODEL_ONLY, in_model_output=True) for i, e in enumerate(entrez)], batch_size=5000)
    matrix = data_dir / "profiles.gctx"
    write_gctx(matrix, np.zeros((1, n_genes), dtype=np.float32), [str(e) for e in entrez], ["p0"])
    dataset = Dataset.objects.create(name="rehearsal", kind=DatasetKind.RNASEQ_LIKE, path=stored_data_path(matrix), n_profiles=n_sigs * 3, n_genes=n_genes)
    release = Release.objects.create(name="rehearsal", dataset=dataset, directory="releases/rehearsal", params={"controls": "all", "gamma": 1.0, "min_replicates": 2})
    job = SignatureJob.objects.create(release=release, status=JobStatus.RUNNING, stage=JobStage.MERGE)
    written = 0.0
    records = []
    for index, start in enumerate(range(0, n_sigs, BATCH)):
        k = min(BATCH, n_sigs - start)
        crispr = start >= int(n_sigs * 0.7)  # 70 % chemical, 30 % CRISPR
        cell = CELL_LINES[index % len(CELL_LINES)]
        name = f"PLATE{index:05d}_{cell}_24H"
        groups = [
            Group(sig_id=f"{name}:{'XPR' if crispr else 'BRD'}-{start + j:07d}", batch=name, pert_id=f"{'XPR' if crispr else 'BRD'}-{start + j:07d}",
                  pert_name=f"pert{start + j}", pert_type="crispr" if crispr else "chemical", cell_id=cell, dose=None if crispr else 10.0,
                  dose_unit="" if crispr else "uM", time=24.0, time_unit="h", positions=np.array([3 * j, 3 * j + 1, 3 * j + 2]),
                  controls=np.array([3 * k]))
            for j in range(k)
        ]
        batch = Batch(name=name, positions=np.arange(3 * k + 1), groups=groups, controls="all")
        cd = rng.standard_normal((k, n_genes), dtype=np.float32)
        cd[rng.random(cd.shape) < 0.01] *= 8
        cd /= np.linalg.norm(cd, axis=1, keepdims=True)
        logfc = cd * np.float32(40)
        path = chunk_path(release, index)
        t = time.perf_counter()
        _write_chunk(path, [g.sig_id for g in groups], cd, logfc)
        written += time.perf_counter() - t
        records.append(SignatureBatch(job=job, index=index, name=name, n_profiles=3 * k + 1, n_signatures=k, plan=batch_to_dict(batch),
                                      status=BatchStatus.DONE, path=stored_data_path(path)))
    SignatureBatch.objects.bulk_create(records, batch_size=500)
    return release, entrez, written


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signatures", type=int, default=20_000)
    parser.add_argument("--genes", type=int, default=23_614)
    parser.add_argument("--keep", action="store_true", help="Keep the data directory and the database.")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="l1kweb-release-"))
    print(f"{platform.node()}: {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}; {args.signatures} signatures x {args.genes} genes; data in {data_dir}", flush=True)
    setup_django(DB, data_dir, API_ANON_RATE="100000000/minute", PAGE_ANON_RATE="100000000/minute", ALLOWED_HOSTS="testserver")
    from django.test import Client

    from signatures.compute import merge
    from signatures.index import build_index
    from signatures.release_files import write_release_files

    rng = np.random.default_rng(0)
    results = []

    def step(name, fn):
        peak_reset()
        t = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - t
        results.append((name, seconds, peak_gb()))
        print(f"  {name:<10} {seconds:9.1f} s   peak {peak_gb():5.2f} GB", flush=True)
        return out

    peak_reset()
    t = time.perf_counter()
    release, entrez, write_seconds = lay_out(args.signatures, args.genes, data_dir, rng)
    print(f"  layout     {time.perf_counter() - t:9.1f} s   (chunk files written in {write_seconds:.1f} s: the baseline); chunks {disk_gb(data_dir):.1f} GB", flush=True)
    step("merge", lambda: merge(release))
    release.refresh_from_db()
    step("index", lambda: build_index(release))
    step("files", lambda: write_release_files(release))
    step("activate", release.activate)
    client = Client()
    gene = int(entrez[len(entrez) // 2])
    symbol = f"G{len(entrez) // 2}"
    timings = {}

    def queries():
        for label, path, params in (
            ("top list (index)", f"/api/genes/{symbol}/signatures/", {"type": "chemical", "direction": "up"}),
            ("filtered, one cell line (exact)", f"/api/genes/{symbol}/signatures/", {"type": "chemical", "direction": "up", "cell_line": CELL_LINES[0]}),
            ("filtered, 24 h: every signature (exact)", f"/api/genes/{symbol}/signatures/", {"direction": "up", "time": "24"}),
            ("gene page", f"/genes/{symbol}/", {}),
            ("gene page, one cell line (exact)", f"/genes/{symbol}/", {"cell_line": CELL_LINES[0]}),
            ("gene page, 10 uM: every compound (exact)", f"/genes/{symbol}/", {"dose": "10"}),
        ):
            for attempt in ("cold", "again"):
                t = time.perf_counter()
                response = client.get(path, {**params, "nocache": attempt} if attempt == "again" else params)
                timings[(label, attempt)] = (time.perf_counter() - t) * 1000
                assert response.status_code == 200, (path, response.status_code, response.content[:300])

    step("queries", queries)
    store_gb = disk_gb(release.store_dir)
    total_gb = disk_gb(data_dir)
    print(f"\nDisk: release directory {store_gb:.1f} GB; with the batches' chunk files {total_gb:.1f} GB (gene {gene}).")
    print("\n| step | seconds | x chunk write | seconds per million signatures (linear) | peak memory GB |")
    print("| --- | --- | --- | --- | --- |")
    for name, seconds, peak in results:
        per_million = "" if name == "queries" else f"{seconds / args.signatures * 1e6:,.0f}"
        print(f"| {name} | {seconds:.1f} | {seconds / write_seconds:.2f} | {per_million} | {peak:.2f} |")
    print("\n| first queries | ms, first | ms, again (other cache key) |")
    print("| --- | --- | --- |")
    for label in dict.fromkeys(k[0] for k in timings):
        print(f"| {label} | {timings[(label, 'cold')]:.1f} | {timings[(label, 'again')]:.1f} |")
    print(f"\nload {os.getloadavg()[0]:.2f} at the end")
    if not args.keep:
        tear_down(DB, data_dir)


if __name__ == "__main__":
    main()
