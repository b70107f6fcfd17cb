"""Top-100 index build: signatures/s of each way to build it, with peak memory.

N_SIGS synthetic signatures of N_GENES genes (unit-length CD, log2FC, ranks),
all six lists (CD, log2FC, rank x up, down), three ways in one run:

1. gene-major (what build_index does): the signatures are written as a real
   release store (signatures.store.StoreWriter) to a temporary directory, then
   signatures.topk_rows.store_top_rows reads gene blocks from gene_major.h5 and
   selects each gene's lists, on two threads. Timed from the open store (the
   write is the merge step's cost, reported on its own).
2. streaming (the earlier build, the baseline): signature blocks through
   signatures.topk.TopKAccumulator, on CPU, and on CUDA when available.
3. in memory: every signature held, numpy.argpartition per list over the
   whole (genes, signatures) matrix (no tie rule; a lower bound on the work).

Peak memory is the process's maximum RSS after each phase, in the order run
(gene-major first, so its figure is not inflated by the others' matrices).

    .venv/bin/python bench/bench_index.py [--signatures 2048] [--genes 23614] [--block 512]
"""

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from signatures.store import StoreWriter, open_store, ranks_up  # noqa: E402
from signatures.topk import TopKAccumulator  # noqa: E402
from signatures.topk_rows import store_top_rows  # noqa: E402

K = 100


def block(rng, n, genes):
    cd = rng.standard_normal((n, genes)).astype(np.float32)
    cd /= np.linalg.norm(cd, axis=1, keepdims=True)
    fc = (cd * 50 + rng.normal(0, 0.3, cd.shape)).astype(np.float32)
    return cd, fc, ranks_up(cd)


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def gene_major(blocks, genes, directory):
    """Write the store, then time the index over it; returns (write s, index s, rows)."""
    n = sum(len(b[0]) for b in blocks)
    t = time.perf_counter()
    with StoreWriter(directory, np.arange(1, genes + 1), n) as writer:
        start = 0
        for cd, fc, _ in blocks:
            writer.write(start, [f"s{start + i}" for i in range(len(cd))], cd, fc)
            start += len(cd)
    written = time.perf_counter() - t
    t = time.perf_counter()
    n_rows = 0
    with open_store(directory) as store:
        for top in store_top_rows(store, np.arange(n), k=K):
            n_rows += len(top)
    return written, time.perf_counter() - t, n_rows


def stream(blocks, genes, device):
    acc = TopKAccumulator(genes, k=K, device=device)
    t = time.perf_counter()
    start = 0
    for cd, fc, rk in blocks:
        acc.update(np.arange(start, start + len(cd)), cd, fc, rk)
        start += len(cd)
    rows = acc.rows()
    if device != "cpu":
        torch.cuda.synchronize()
    return time.perf_counter() - t, len(rows)


def baseline(blocks, genes):
    cd = np.concatenate([b[0] for b in blocks]).T  # (genes, sigs)
    fc = np.concatenate([b[1] for b in blocks]).T
    rk = np.concatenate([b[2] for b in blocks]).T.astype(np.float32)
    t = time.perf_counter()
    for key in (np.where(cd > 0, cd, -np.inf), np.where(cd < 0, -cd, -np.inf), np.where(fc > 0, fc, -np.inf),
                np.where(fc < 0, -fc, -np.inf), np.where(cd > 0, -rk, -np.inf), np.where(cd < 0, rk - genes - 1, -np.inf)):  # fmt: skip
        np.argpartition(-key, K, axis=1)[:, :K]
    return time.perf_counter() - t


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--signatures", type=int, default=2048)
    p.add_argument("--genes", type=int, default=23614)
    p.add_argument("--block", type=int, default=512)
    a = p.parse_args()
    rng = np.random.default_rng(0)
    blocks = [block(rng, min(a.block, a.signatures - s), a.genes) for s in range(0, a.signatures, a.block)]
    data_mb = peak_mb()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__} ({torch.get_num_threads()} threads)")
    print(f"{a.signatures} signatures x {a.genes} genes, top {K} x 3 metrics x 2 directions, blocks of {a.block}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        written, tg, n_rows_gm = gene_major(blocks, a.genes, Path(tmp) / "store")
        disk_mb = sum(p.stat().st_size for p in (Path(tmp) / "store").iterdir()) / 2**20
    print(f"gene-major, cpu: {a.signatures / tg:10.1f} signatures/s ({tg:.2f} s, {n_rows_gm} index rows); peak RSS {peak_mb():.0f} MB; "
          f"store written in {written:.2f} s ({disk_mb:.0f} MB on disk)")
    t, n_rows = stream(blocks, a.genes, "cpu")
    print(f"streaming, cpu : {a.signatures / t:10.1f} signatures/s ({t:.2f} s, {n_rows} index rows); peak RSS {peak_mb():.0f} MB (input blocks alone {data_mb:.0f} MB)")
    if n_rows != n_rows_gm:
        raise SystemExit(f"the two builds disagree: {n_rows_gm} rows from the gene-major store, {n_rows} streamed")
    if torch.cuda.is_available():
        stream(blocks[:1], a.genes, "cuda")  # warm-up
        torch.cuda.reset_peak_memory_stats()
        t_gpu, _ = stream(blocks, a.genes, "cuda")
        print(f"streaming, cuda: {a.signatures / t_gpu:10.1f} signatures/s ({t_gpu:.2f} s); peak GPU memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MB ({torch.cuda.get_device_name()})")
    tb = baseline(blocks, a.genes)
    print(f"baseline (all in memory, argpartition): {a.signatures / tb:10.1f} signatures/s ({tb:.2f} s); peak RSS {peak_mb():.0f} MB")
    print(f"gene-major / streaming throughput: {t / tg:.2f}x; streaming / in-memory: {tb / t:.2f}x; gene-major / in-memory: {tb / tg:.2f}x")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
