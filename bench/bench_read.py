"""Reading throughput (profiles/s) and peak memory for a multi-GB GCTX, chunked vs one profile at a time.

    .venv/bin/python bench/bench_read.py [--profiles 80000] [--genes 12328] [--chunk-size 1000] [--dir /tmp]

Writes a synthetic Level-3-shaped GCTX with our GctxWriter (80,000 x 12,328
float32 = 3.9 GB by default; the real file is 1,319,138 x 12,328), then runs
each read mode in its own child process so that peak RSS is per mode:

- `chunked`: GctxReader.iter_chunks over every profile, all genes, a fresh array per block;
- `chunked-reuse`: the same, read into one reused buffer (`reuse_buffer=True`);
- `chunked-landmarks`: the same with a 978-gene row selection (what conversion reads);
- `one-at-a-time` (baseline): read(cols=[i]) per profile, as the reference code's
  per-profile loop would, over every profile (or the first `--baseline-profiles`);
- `whole-file` (reference code's approach): peak memory of loading the matrix at once,
  only computed (n_profiles x n_genes x 4 bytes), never run.

Before each mode the file's pages are dropped from the OS cache
(posix_fadvise DONTNEED) so reads come from disk, not memory. Ratios are
against the baseline measured in the same run.
"""

import argparse
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conversion.formats.gctx import GctxReader, GctxWriter  # noqa: E402


def write_file(path: Path, n_profiles: int, n_genes: int, chunk: int = 5000) -> float:
    rng = np.random.default_rng(0)
    row_ids = [str(100_000 + i) for i in range(n_genes)]
    started = time.perf_counter()
    block = rng.normal(8.0, 2.0, size=(chunk, n_genes)).astype(np.float32)  # one random block, reused: writing cost only
    with GctxWriter(path, row_ids, n_profiles) as w:
        for lo in range(0, n_profiles, chunk):
            k = min(chunk, n_profiles - lo)
            w.write(lo, block[:k] + np.float32(lo % 7), [f"BENCH_X1:{i}" for i in range(lo, lo + k)])
    return time.perf_counter() - started


def drop_cache(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def peak_rss_mb() -> float:
    """VmHWM of this process. Not getrusage's ru_maxrss: Linux carries that over from the parent across exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_mode(path: Path, mode: str, chunk_size: int, baseline_profiles: int) -> dict:
    """Executed in a child process: one read mode, its time, profiles read and peak RSS."""
    rss_before = peak_rss_mb()
    started = time.perf_counter()
    checksum, n = 0.0, 0
    with GctxReader(path) as r:
        n_profiles, n_genes = r.shape
        if mode == "chunked":
            for _start, _ids, block in r.iter_chunks(chunk_size):
                checksum += float(block[:, 0].sum())
                n += len(block)
        elif mode == "chunked-reuse":
            for _start, _ids, block in r.iter_chunks(chunk_size, reuse_buffer=True):
                checksum += float(block[:, 0].sum())
                n += len(block)
        elif mode == "chunked-landmarks":
            rows = np.sort(np.random.default_rng(1).choice(n_genes, size=min(978, n_genes), replace=False))
            for _start, _ids, block in r.iter_chunks(chunk_size, rows=rows):
                checksum += float(block[:, 0].sum())
                n += len(block)
        elif mode == "one-at-a-time":
            for i in range(n_profiles if baseline_profiles is None else min(baseline_profiles, n_profiles)):
                checksum += float(r.read(cols=[i])[0, 0])
                n += 1
        else:
            raise ValueError(mode)
    seconds = time.perf_counter() - started
    return {"mode": mode, "profiles": n, "seconds": seconds, "profiles_per_s": n / seconds, "peak_rss_mb": peak_rss_mb(), "rss_at_start_mb": rss_before, "checksum": checksum}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=80_000)
    parser.add_argument("--genes", type=int, default=12_328)
    parser.add_argument("--chunk-size", type=int, default=1_000)
    parser.add_argument("--baseline-profiles", type=int, default=None, help="Profiles read one at a time (default: all).")
    parser.add_argument("--dir", default=tempfile.gettempdir())
    parser.add_argument("--keep", action="store_true", help="Keep the GCTX file afterwards.")
    parser.add_argument("--child", nargs=2, metavar=("PATH", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(run_mode(Path(args.child[0]), args.child[1], args.chunk_size, args.baseline_profiles)))
        return

    path = Path(args.dir) / f"bench_read_{args.profiles}x{args.genes}.gctx"
    write_s = write_file(path, args.profiles, args.genes)
    size_gb = path.stat().st_size / 1e9
    print(f"wrote {path} ({size_gb:.2f} GB, {args.profiles} x {args.genes} float32) in {write_s:.1f} s")
    results = {}
    try:
        for mode in ("one-at-a-time", "chunked", "chunked-reuse", "chunked-landmarks"):
            drop_cache(path)
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(path), mode, "--chunk-size", str(args.chunk_size)]
                + ([] if args.baseline_profiles is None else ["--baseline-profiles", str(args.baseline_profiles)]),
                check=True,
                capture_output=True,
                text=True,
            )
            results[mode] = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)

    base = results["one-at-a-time"]["profiles_per_s"]
    whole_mb = args.profiles * args.genes * 4 / 2**20
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; file {size_gb:.2f} GB; chunk size {args.chunk_size}")
    print(f"{'mode':20s} {'profiles':>9s} {'seconds':>8s} {'profiles/s':>11s} {'vs baseline':>11s} {'peak RSS MB':>12s} {'after imports':>14s}")
    for mode, r in results.items():
        print(
            f"{mode:20s} {r['profiles']:9d} {r['seconds']:8.2f} {r['profiles_per_s']:11.0f} {r['profiles_per_s'] / base:10.1f}x "
            f"{r['peak_rss_mb']:12.0f} {r['rss_at_start_mb']:14.0f}"
        )
    print(f"{'whole-file (computed)':20s} {args.profiles:9d} {'-':>8s} {'-':>11s} {'-':>11s} {whole_mb:12.0f}  (matrix alone; 1,319,138 profiles would need {1_319_138 * args.genes * 4 / 2**30:.0f} GiB)")
    gb_per_s = results["chunked"]["profiles_per_s"] * args.genes * 4 / 1e9
    print(f"chunked read rate: {gb_per_s:.2f} GB/s of float32 values")


if __name__ == "__main__":
    main()
