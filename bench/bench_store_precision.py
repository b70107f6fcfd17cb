"""Would a half-precision gene-major store change the top lists? float32 against float16 CD and log2FC.

N_SIGS synthetic signatures of N_GENES genes (unit-length CD with a few strong
genes per signature, as real signatures have, log2FC correlated with it; rank_up
from the CD), then the per-gene top-K lists (CD, log2FC and rank, up and down:
signatures.topk_rows, what build_index runs) from the float32 values and from
the same values rounded to float16, the rank lists from ranks of the rounded CD.
Reports, per metric, how many lists differ, the largest number of signatures a
list gains or loses, and the disk per million signatures at 23,614 genes for
each layout. Ranks stored as int16 instead of int32 are exact (n_genes <= 32,767)
and change nothing.

    .venv/bin/python bench/bench_store_precision.py [--signatures 4000] [--genes 2000] [--k 100]
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from signatures.store import ranks_up  # noqa: E402
from signatures.topk_rows import top_rows_from_genes  # noqa: E402

FULL_GENES = 23_614


def signatures(n_sigs: int, n_genes: int, seed: int):
    rng = np.random.default_rng(seed)
    cd = rng.standard_normal((n_sigs, n_genes)).astype(np.float32)
    strong = rng.random((n_sigs, n_genes)) < 0.01
    cd[strong] *= 8  # a few strongly regulated genes per signature
    cd /= np.linalg.norm(cd, axis=1, keepdims=True)
    logfc = (cd * 40 + rng.normal(0, 0.15, cd.shape)).astype(np.float32)
    return cd, logfc


def lists(cd, logfc, k):
    n_sigs, n_genes = cd.shape
    rows = top_rows_from_genes(np.arange(n_genes), np.arange(n_sigs), cd.T, logfc.T, ranks_up(cd).T, n_genes=n_genes, k=k)
    out = {}
    for metric in ("cd", "logfc", "rank"):
        flag = getattr(rows, f"top_{metric}")
        for d in ("up", "down"):
            sel = flag & (rows.direction == d)
            for g in range(n_genes):
                out[(metric, d, g)] = set(rows.signature[sel & (rows.gene == g)].tolist())
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signatures", type=int, default=4000)
    parser.add_argument("--genes", type=int, default=2000)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cd, logfc = signatures(args.signatures, args.genes, args.seed)
    exact = lists(cd, logfc, args.k)
    half = lists(cd.astype(np.float16).astype(np.float32), logfc.astype(np.float16).astype(np.float32), args.k)
    print(f"{args.signatures} signatures x {args.genes} genes, top {args.k}; float16 against float32 values:")
    print("metric  lists differing  largest change (signatures in or out of one list)  mean change")
    for metric in ("cd", "logfc", "rank"):
        changes = [len(exact[key] ^ half[key]) // 2 for key in exact if key[0] == metric]
        differing = sum(c > 0 for c in changes)
        print(f"{metric:<7} {differing:>7} of {len(changes):<7} {max(changes):>10} {np.mean(changes):>24.2f}")
    per_million = 1e6 * FULL_GENES / 1e9
    print(f"disk per million signatures at {FULL_GENES} genes (GB): gene-major float32 CD, log2FC + int32 ranks {12 * per_million:.0f}; "
          f"float16 + int16 {6 * per_million:.0f}; float32 values + int16 ranks {10 * per_million:.0f}; "
          f"plus the signature-major cd.gctx and logfc.gctx in float32 {8 * per_million:.0f}")


if __name__ == "__main__":
    main()
