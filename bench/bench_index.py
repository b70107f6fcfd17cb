"""Top-100 index build: signatures/s of each way to build it, with peak memory and the kernel's compile time.

N_SIGS synthetic signatures of N_GENES genes (unit-length CD, log2FC, ranks),
all six lists (CD, log2FC, rank x up, down), in one run:

1. gene-major, numba kernel (what build_index does): the signatures are
   written as a real release store (signatures.store.StoreWriter) to a
   temporary directory, then signatures.topk_rows.store_top_rows reads gene
   blocks from gene_major.h5 and selects each gene's lists with
   signatures.topk_kernel, on topk_rows.THREADS threads. Timed from the open
   store (the write is the merge step's cost, reported on its own).
2. gene-major, numpy bound-and-select kernel (the kernel before it, kept in
   bench/numpy_index_kernel.py), over the same store, gene blocks and threads.
   Both gene-major builds run in a child process of their own (peak RSS = that
   process's VmHWM, the store open and nothing else held), after the store's
   files were read once into the page cache and the kernel compiled (or
   loaded from numba's cache) on a small block. The build is timed with the
   rows only counted; a second, untimed pass hashes every field of every row,
   and the script checks that the two kernels' digests are equal. Each
   build's CPU time (user + system, all threads) is printed beside its wall
   time: on a machine that other work keeps busy it says what the build
   would take on free cores.
3. streaming: signature blocks through signatures.topk.TopKAccumulator, on CPU,
   and on CUDA when available.
4. in memory: every signature held, numpy.argpartition per list over the
   whole (genes, signatures) matrix (no tie rule; a lower bound on the work
   of a partition per list).

The numba kernel's first-call time is measured in two more child processes:
one with an empty NUMBA_CACHE_DIR (a cold compile) and one that loads the
compiled code from that cache.

    .venv/bin/python bench/bench_index.py [--signatures 2048] [--genes 23614] [--block 512] [--skip-streaming]
"""

import argparse
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from signatures.store import StoreWriter, open_store, ranks_up  # noqa: E402
from signatures.topk import TopKAccumulator, TopRows  # noqa: E402
from signatures.topk_rows import GENE_BLOCK_BYTES, THREADS, _bounded_map, _runs, store_top_rows, top_rows_from_genes  # noqa: E402

from numpy_index_kernel import top_rows_from_genes as numpy_top_rows_from_genes  # noqa: E402  (bench/, beside this script)

K = 100


def block(rng, n, genes):
    cd = rng.standard_normal((n, genes)).astype(np.float32)
    cd /= np.linalg.norm(cd, axis=1, keepdims=True)
    fc = (cd * 50 + rng.normal(0, 0.3, cd.shape)).astype(np.float32)
    return cd, fc, ranks_up(cd)


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def numpy_store_top_rows(store, columns, *, k, block_size=1024):
    """store_top_rows with the previous kernel (bench/numpy_index_kernel.py): the same gene blocks and threads."""
    runs = _runs(columns)
    n_block = max(1, min(block_size, GENE_BLOCK_BYTES // (12 * max(1, len(columns)))))

    def block_rows(bounds):
        a, b = bounds
        cd, logfc, rank_up = store.read_gene_block(a, b, runs)
        return numpy_top_rows_from_genes(np.arange(a, b), columns, cd, logfc, rank_up, n_genes=store.n_genes, k=k)

    yield from _bounded_map(block_rows, [(a, min(a + n_block, store.n_genes)) for a in range(0, store.n_genes, n_block)])


def write_store(blocks, genes, directory):
    """The release store of the synthetic signatures; returns the seconds it took."""
    n = sum(len(b[0]) for b in blocks)
    t = time.perf_counter()
    with StoreWriter(directory, np.arange(1, genes + 1), n) as writer:
        start = 0
        for cd, fc, _ in blocks:
            writer.write(start, [f"s{start + i}" for i in range(len(cd))], cd, fc)
            start += len(cd)
    return time.perf_counter() - t


def _vm_hwm_mb():
    """This process's peak resident set (VmHWM) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return peak_mb()


def _cpu_seconds():
    """CPU time of this process, all its threads: user + system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _warm_up():
    """Compile (or load from numba's cache) the kernel for both rank dtypes; returns the seconds it took."""
    t = time.perf_counter()
    cd = np.array([[0.5, -0.5, 0.25]], dtype=np.float32)
    for dtype in (np.int16, np.int32):
        top_rows_from_genes(np.arange(1), np.arange(3), cd, cd, np.array([[1, 1, 1]], dtype=dtype), n_genes=1, k=1)
    return time.perf_counter() - t


def gene_major_child(kernel, directory):
    """In a child process: one gene-major build over the store; prints seconds, rows, a digest of the rows and memory.

    peak_mb is the child's VmHWM over the timed build and the digest pass:
    the peak is reset (/proc/self/clear_refs) once the store is open and the
    kernel compiled, so imports do not count; start_mb is its resident set at
    that moment.
    """
    build = {"numba": store_top_rows, "numpy": numpy_store_top_rows}[kernel]
    _warm_up()
    with open_store(directory) as store:
        columns = np.arange(store.n_signatures)
        Path("/proc/self/clear_refs").write_text("5")
        start_mb = _vm_hwm_mb()
        t, cpu = time.perf_counter(), _cpu_seconds()
        n_rows = sum(len(top) for top in build(store, columns, k=K))
        seconds, cpu = time.perf_counter() - t, _cpu_seconds() - cpu
        digest = hashlib.sha256()
        for top in build(store, columns, k=K):
            for field in ("gene", "direction", "signature", "cd", "logfc", "rank", "top_cd", "top_logfc", "top_rank"):
                digest.update(np.ascontiguousarray(getattr(top, field)).tobytes())
    print(json.dumps({"seconds": seconds, "cpu_s": cpu, "rows": n_rows, "digest": digest.hexdigest(), "peak_mb": _vm_hwm_mb(), "start_mb": start_mb}))


def child(*args):
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# A fresh interpreter: the import of signatures.topk_rows (numpy, numba, the kernel module), then _warm_up.
COMPILE_CHILD = """
import json, sys, time
sys.path[:0] = [{root!r}, {bench!r}]
t = time.perf_counter()
import signatures.topk_rows
imported = time.perf_counter() - t
from bench_index import _warm_up
print(json.dumps({{"import": imported, "first_calls": _warm_up()}}))
"""


def compile_times():
    """The numba kernel's import and first calls: with an empty NUMBA_CACHE_DIR (a cold compile), then from that cache."""
    here = Path(__file__).resolve()
    code = COMPILE_CHILD.format(root=str(here.parents[1]), bench=str(here.parent))
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        runs = [subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env) for _ in range(2)]
    return [json.loads(r.stdout.strip().splitlines()[-1]) for r in runs]


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
    p.add_argument("--skip-streaming", action="store_true", help="leave out the TopKAccumulator build (slow at many genes)")
    p.add_argument("--child", choices=["numba", "numpy"], help=argparse.SUPPRESS)
    p.add_argument("--store", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        return gene_major_child(a.child, a.store)
    rng = np.random.default_rng(0)
    blocks = [block(rng, min(a.block, a.signatures - s), a.genes) for s in range(0, a.signatures, a.block)]
    data_mb = peak_mb()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__} ({torch.get_num_threads()} threads); "
          f"gene-major builds on {THREADS} threads")
    print(f"{a.signatures} signatures x {a.genes} genes, top {K} x 3 metrics x 2 directions, blocks of {a.block}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "store"
        written = write_store(blocks, a.genes, directory)
        disk_mb = sum(p.stat().st_size for p in directory.iterdir()) / 2**20
        print(f"store written in {written:.2f} s ({disk_mb:.0f} MB on disk)")
        for path in directory.iterdir():  # into the page cache, so that neither build pays the first read
            with open(path, "rb") as fh:
                while fh.read(2**26):
                    pass
        new = child("--child", "numba", "--store", str(directory))
        old = child("--child", "numpy", "--store", str(directory))
    for name, r in (("gene-major, numba kernel (new)", new), ("gene-major, numpy bound-and-select (before)", old)):
        print(f"{name}: {a.signatures / r['seconds']:10.1f} signatures/s ({r['seconds']:.2f} s, {r['rows']} index rows; "
              f"{r['cpu_s']:.2f} CPU-s, {a.signatures / r['cpu_s']:.0f} signatures per CPU-second); "
              f"peak RSS {r['peak_mb']:.0f} MB (child process with the store open, {r['start_mb']:.0f} MB before the build)")
    if (new["rows"], new["digest"]) != (old["rows"], old["digest"]):
        raise SystemExit(f"the two gene-major kernels disagree: {new['rows']} rows (digest {new['digest'][:12]}) against {old['rows']} ({old['digest'][:12]})")
    print(f"numba and numpy kernels: the same {new['rows']} rows (sha256 of every field {new['digest'][:16]})")
    tg, to = new["seconds"], old["seconds"]
    if not a.skip_streaming:
        t, n_rows = stream(blocks, a.genes, "cpu")
        print(f"streaming, cpu : {a.signatures / t:10.1f} signatures/s ({t:.2f} s, {n_rows} index rows); peak RSS {peak_mb():.0f} MB (input blocks alone {data_mb:.0f} MB)")
        if n_rows != new["rows"]:
            raise SystemExit(f"the builds disagree: {new['rows']} rows from the gene-major store, {n_rows} streamed")
        if torch.cuda.is_available():
            stream(blocks[:1], a.genes, "cuda")  # warm-up
            torch.cuda.reset_peak_memory_stats()
            t_gpu, _ = stream(blocks, a.genes, "cuda")
            print(f"streaming, cuda: {a.signatures / t_gpu:10.1f} signatures/s ({t_gpu:.2f} s); peak GPU memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MB ({torch.cuda.get_device_name()})")
    tb = baseline(blocks, a.genes)
    print(f"baseline (all in memory, argpartition): {a.signatures / tb:10.1f} signatures/s ({tb:.2f} s); peak RSS {peak_mb():.0f} MB")
    print(f"new / numpy gene-major throughput: {to / tg:.2f}x; new / in-memory: {tb / tg:.2f}x" + ("" if a.skip_streaming else f"; new / streaming: {t / tg:.2f}x"))
    cold, cached = compile_times()
    print(f"numba kernel, first calls (both rank dtypes): {cold['first_calls']:.1f} s compiling into an empty cache, "
          f"{cached['first_calls']:.2f} s loading from the cache (import of signatures.topk_rows {cold['import']:.1f} s and {cached['import']:.1f} s)")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
