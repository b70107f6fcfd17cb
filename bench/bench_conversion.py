"""Conversion throughput (profiles/s, file to file) and peak memory for the paper-size translator.

    .venv/bin/python bench/bench_conversion.py [--profiles 6000] [--baseline-profiles 100]
        [--chunk-size 2000] [--batch-size 512] [--device cpu] [--large-gb 0] [--dir /tmp]

The network has the paper's shape (G 978-512-512-128 [residual] back to 978,
extrapolator 978-2048-4096-8192-23,614, 237 million weights) with random
weights: throughput does not depend on the values. The bundle is saved once
(about 1 GB) and every mode runs in its own child process, which loads it, so
that peak RSS (VmHWM) is per mode.

- `batched`: `convert_file` on a Level-3-shaped GCTX (N profiles x 12,328 genes,
  978 landmarks picked by Entrez id), chunks of --chunk-size, forward passes of
  --batch-size, float32 output written as GCTX with sample ids and metadata;
  the whole pipeline from the input file to the closed output file.
- `one-at-a-time` (baseline, the reference code's way): per profile, read it,
  run the network on a batch of one, write its row into the output GCTX; over
  the first --baseline-profiles profiles.
- `--large-gb X`: also convert an X GB input (float16 output, to spare the
  disk) and compare its peak RSS with the small run's: flat memory means the
  same peak whatever the input size.

Ratios are against the baseline measured in the same run. The machine's load
average is printed before and after: other processes share the cores.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

N_GENES_LEVEL3 = 12_328
N_LANDMARKS = 978
N_OUTPUT = 23_614


def peak_rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def make_bundle(path: Path):
    """A paper-size bundle with random weights (throughput does not depend on them); landmarks are Entrez ids 1..978."""
    from tests.translator.helpers import toy_bundle

    toy_bundle(N_LANDMARKS, N_OUTPUT, size="paper", first_id=1).save(path)


def write_input(path: Path, n_profiles: int, chunk: int = 5000) -> None:
    """Level-3-shaped GCTX: 12,328 rows keyed by Entrez id (landmarks shuffled among them), with column metadata."""
    import pandas as pd

    from conversion.formats.gctx import GctxWriter

    rng = np.random.default_rng(0)
    # Entrez ids 1..978 are the bundle's landmarks; the other rows are genes it does not use.
    row_ids = [str(i) for i in rng.permutation(np.concatenate([np.arange(1, N_LANDMARKS + 1), np.arange(10**6, 10**6 + N_GENES_LEVEL3 - N_LANDMARKS)]))]
    block = rng.uniform(3.0, 14.0, size=(chunk, N_GENES_LEVEL3)).astype(np.float32)
    with GctxWriter(path, row_ids, n_profiles) as writer:
        for lo in range(0, n_profiles, chunk):
            k = min(chunk, n_profiles - lo)
            ids = [f"BENCH_X1:{i}" for i in range(lo, lo + k)]
            meta = pd.DataFrame({"cell_id": ["A375"] * k, "rna_plate": [f"BENCH_X1_{i // 384}" for i in range(lo, lo + k)]}, index=ids)
            writer.write(lo, block[:k] + np.float32(lo % 5) * 0.01, ids, col_meta=meta)


def child_batched(args) -> dict:
    from conversion.translator.bundle import load_bundle
    from conversion.translator.infer import convert_file

    bundle = load_bundle(args.bundle, device=args.device)
    started = time.perf_counter()
    summary = convert_file(bundle, args.input, args.output, chunk_size=args.chunk_size, batch_size=args.batch_size,
                           device=args.device, float16=args.float16)
    seconds = time.perf_counter() - started
    return {"profiles": summary["n_profiles"], "seconds": seconds, "profiles_per_s": summary["n_profiles"] / seconds, "peak_rss_mb": peak_rss_mb()}


def child_one_at_a_time(args) -> dict:
    import torch

    from conversion.formats import open_matrix
    from conversion.formats.gctx import GctxWriter
    from conversion.translator.bundle import load_bundle
    from conversion.translator.infer import landmark_rows

    bundle = load_bundle(args.bundle, device=args.device)
    n = args.baseline_profiles
    started = time.perf_counter()
    with open_matrix(args.input) as reader, GctxWriter(args.output, bundle.output_entrez_ids, n) as writer:
        rows = landmark_rows(reader, bundle.input_entrez_ids)
        for i in range(n):
            x = reader.read(cols=[i], rows=rows)  # (1, 978)
            with torch.inference_mode():
                y = bundle.network(torch.from_numpy(x).to(bundle.device)).cpu().numpy()  # (1, 23,614)
            writer.write(i, y, [reader.col_ids[i]])
    seconds = time.perf_counter() - started
    return {"profiles": n, "seconds": seconds, "profiles_per_s": n / seconds, "peak_rss_mb": peak_rss_mb()}


def run_child(mode: str, **kwargs) -> dict:
    argv = [sys.executable, __file__, "--child", mode]
    for key, value in kwargs.items():
        if value is True:
            argv.append(f"--{key.replace('_', '-')}")
        elif value is not False:
            argv += [f"--{key.replace('_', '-')}", str(value)]
    out = subprocess.run(argv, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=6000)
    parser.add_argument("--baseline-profiles", type=int, default=100)
    parser.add_argument("--chunk-size", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    parser.add_argument("--large-gb", type=float, default=0.0, help="Also convert an input of this many GB and report its peak RSS.")
    parser.add_argument("--dir", default=None, help="Scratch directory (default: a temporary one, removed afterwards).")
    # Child-process modes.
    parser.add_argument("--child", choices=["batched", "one-at-a-time"], help=argparse.SUPPRESS)
    parser.add_argument("--bundle", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--float16", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = child_batched(args) if args.child == "batched" else child_one_at_a_time(args)
        print(json.dumps(result))
        return

    import torch

    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        scratch = Path(scratch)
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} "
              f"({torch.get_num_threads()} threads), CUDA available: {torch.cuda.is_available()}")
        print(f"load average before: {os.getloadavg()}")
        t = time.perf_counter()
        make_bundle(scratch / "paper.pt")
        write_input(scratch / "level3.gctx", args.profiles)
        print(f"setup: bundle {os.path.getsize(scratch / 'paper.pt') / 1e9:.2f} GB, input {args.profiles} x {N_GENES_LEVEL3} "
              f"= {os.path.getsize(scratch / 'level3.gctx') / 1e9:.2f} GB, {time.perf_counter() - t:.0f} s")
        common = dict(bundle=scratch / "paper.pt", input=scratch / "level3.gctx", device=args.device)
        base = run_child("one-at-a-time", output=scratch / "one.gctx", baseline_profiles=args.baseline_profiles, **common)
        (scratch / "one.gctx").unlink()
        batched = run_child("batched", output=scratch / "out.gctx", chunk_size=args.chunk_size, batch_size=args.batch_size, **common)
        (scratch / "out.gctx").unlink()
        rows = [("one-at-a-time (baseline)", base), (f"batched (chunk {args.chunk_size}, batch {args.batch_size})", batched)]
        if args.large_gb > 0:
            n_large = int(args.large_gb * 1e9 / (N_GENES_LEVEL3 * 4))
            write_input(scratch / "large.gctx", n_large)
            (scratch / "level3.gctx").unlink()
            large = run_child("batched", output=scratch / "large_out.gctx", chunk_size=args.chunk_size, batch_size=args.batch_size, float16=True,
                              bundle=scratch / "paper.pt", input=scratch / "large.gctx", device=args.device)
            rows.append((f"batched, {os.path.getsize(scratch / 'large.gctx') / 1e9:.1f} GB input, float16 output", large))
        print(f"load average after: {os.getloadavg()}")
        print("\n| mode | profiles | seconds | profiles/s | vs baseline | peak RSS MB |\n| --- | --- | --- | --- | --- | --- |")
        for name, r in rows:
            print(f"| {name} | {r['profiles']:,} | {r['seconds']:.1f} | {r['profiles_per_s']:,.0f} | "
                  f"{r['profiles_per_s'] / base['profiles_per_s']:.1f}x | {r['peak_rss_mb']:,.0f} |")


if __name__ == "__main__":
    main()
