"""Top-100 index build: signatures/s of the streaming accumulator, with peak memory.

Streams N_SIGS synthetic signatures of N_GENES genes (unit-length CD, log2FC,
ranks) in blocks through signatures.topk.TopKAccumulator (all six lists: CD,
log2FC, rank x up, down) on CPU, and on CUDA when available. Baseline in the
same run: the non-streaming way, all signatures in memory and
numpy.argpartition per list over the whole (genes, signatures) matrix.
Peak memory is the process's maximum RSS after each phase (the streaming
phase runs first, so its figure is not inflated by the baseline's matrices).

    .venv/bin/python bench/bench_index.py [--signatures 2048] [--genes 23614] [--block 512]
"""

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from signatures.store import ranks_up  # noqa: E402
from signatures.topk import TopKAccumulator  # noqa: E402

K = 100


def block(rng, n, genes):
    cd = rng.standard_normal((n, genes)).astype(np.float32)
    cd /= np.linalg.norm(cd, axis=1, keepdims=True)
    fc = (cd * 50 + rng.normal(0, 0.3, cd.shape)).astype(np.float32)
    return cd, fc, ranks_up(cd)


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
    t, n_rows = stream(blocks, a.genes, "cpu")
    print(f"streaming, cpu : {a.signatures / t:10.1f} signatures/s ({t:.2f} s, {n_rows} index rows); peak RSS {peak_mb():.0f} MB (input blocks alone {data_mb:.0f} MB)")
    if torch.cuda.is_available():
        stream(blocks[:1], a.genes, "cuda")  # warm-up
        torch.cuda.reset_peak_memory_stats()
        t_gpu, _ = stream(blocks, a.genes, "cuda")
        print(f"streaming, cuda: {a.signatures / t_gpu:10.1f} signatures/s ({t_gpu:.2f} s); peak GPU memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MB ({torch.cuda.get_device_name()})")
    tb = baseline(blocks, a.genes)
    print(f"baseline (all in memory, argpartition): {a.signatures / tb:10.1f} signatures/s ({tb:.2f} s); peak RSS {peak_mb():.0f} MB")
    print(f"streaming / baseline throughput: {tb / t:.2f}x")


if __name__ == "__main__":
    main()
