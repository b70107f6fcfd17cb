"""CD throughput: signatures/s of signatures.cd against the per-signature reference, same run.

A synthetic batch of N_PROFILES x N_GENES (log2-scale values with planted
effects), N_GROUPS treatment groups of 3 replicates, controls = all other
profiles. The batch implementation computes every group; then the same groups
as compounds profiled at DOSES doses each, every group compared with the
profiles of the batch but its compound's (the reference pipeline's rule: each
group gets its own PCA). The oracle (tests/signatures/chdir_oracle.py, one PCA per signature as
the reference code does) computes ORACLE_GROUPS of them, and its rate is per
signature. The first ORACLE_GROUPS results are also compared (max abs diff).

    .venv/bin/python bench/bench_cd.py [--profiles 400] [--genes 23614] [--groups 100] [--doses 6] [--oracle-groups 3]
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from signatures.cd import characteristic_direction_batch  # noqa: E402
from tests.signatures.chdir_oracle import chdir_reference  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--profiles", type=int, default=400)
    p.add_argument("--genes", type=int, default=23614)
    p.add_argument("--groups", type=int, default=100)
    p.add_argument("--doses", type=int, default=6)
    p.add_argument("--oracle-groups", type=int, default=3)
    a = p.parse_args()
    rng = np.random.default_rng(0)
    X = rng.normal(7.0, 2.0, size=(a.profiles, a.genes)).astype(np.float32)
    groups = [np.arange(3 * i, 3 * i + 3) for i in range(a.groups)]
    for g in groups:
        X[np.ix_(g, rng.choice(a.genes, 50, replace=False))] += 2.0

    t = time.perf_counter()
    batch = characteristic_direction_batch(X, groups)
    t_batch = time.perf_counter() - t

    families = [np.arange(3 * a.doses * (i // a.doses), min(a.profiles, 3 * a.doses * (i // a.doses + 1))) for i in range(a.groups)]
    own = [np.setdiff1d(np.arange(a.profiles), f) for f in families]
    t = time.perf_counter()
    per_group = characteristic_direction_batch(X, groups, group_controls=own)
    t_own = time.perf_counter() - t
    cls = np.ones(a.profiles, dtype=int)
    cls[families[0]] = 0
    cls[groups[0]] = 2
    worst_own = float(np.abs(chdir_reference(X.T, cls) - per_group[0]).max())

    t = time.perf_counter()
    worst = 0.0
    for i in range(a.oracle_groups):
        cls = np.ones(a.profiles, dtype=int)
        cls[groups[i]] = 2
        ref = chdir_reference(X.T, cls)
        worst = max(worst, float(np.abs(ref - batch[i]).max()))
    t_oracle = time.perf_counter() - t

    rate_batch = a.groups / t_batch
    rate_oracle = a.oracle_groups / t_oracle
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; numpy {np.__version__}")
    print(f"batch: {a.profiles} profiles x {a.genes} genes, {a.groups} signatures of 3 replicates")
    print(f"signatures.cd batch : {rate_batch:10.2f} signatures/s ({t_batch:.2f} s for {a.groups}), controls = all other profiles")
    print(f"signatures.cd, own controls: {a.groups / t_own:10.2f} signatures/s ({t_own:.2f} s), {a.doses} doses per compound left out"
          f" ({a.groups / t_own / rate_batch:.2f}x of the shared PCA; max |difference| to the reference {worst_own:.2e})")
    print(f"per-signature oracle: {rate_oracle:10.3f} signatures/s ({t_oracle:.2f} s for {a.oracle_groups})")
    print(f"speed-up: {rate_batch / rate_oracle:.0f}x; max |difference| over compared signatures: {worst:.2e}")


if __name__ == "__main__":
    main()
