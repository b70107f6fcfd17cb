"""The numba index kernel returns TopKAccumulator's rows on rows built to break it.

Ties everywhere (integer-valued and repeated values, signed zeros, tied ranks),
NaN CDs, rows of one sign, rows shorter than k and k = 1, rows sorted so that
every value enters a buffer, rows whose sampled columns hold the best values
(the starting bound is too high and the row is read again), buffers of k + 1
pairs, and perturbation types whose columns are scattered through the store.
"""

import os
import subprocess
import sys
import tempfile
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest

from signatures import topk_rows
from signatures.store import ranks_up
from signatures.topk import TopKAccumulator
from signatures.topk_rows import top_rows_from_genes

FIELDS = ("gene", "direction", "signature", "cd", "logfc", "rank", "top_cd", "top_logfc", "top_rank")
KINDS = ("integer", "repeated", "positive", "negative", "nan", "ascending", "descending", "sampled_best", "tied_ranks")
N_GENES = 9


def _signatures(kind: str, n_sigs: int, seed: int):
    """(n_sigs, N_GENES) cd, logfc, rank_up, signature-major as TopKAccumulator takes them."""
    rng = np.random.default_rng(seed)
    shape = (n_sigs, N_GENES)
    cd = np.round(rng.standard_normal(shape) * 2).astype(np.float32)
    if kind == "repeated":
        cd = rng.choice(np.array([-1.0, -0.5, -0.0, 0.0, 0.5, 1.0], dtype=np.float32), size=shape)
    elif kind == "positive":
        cd = np.abs(cd) + 0.5
    elif kind == "negative":
        cd = -np.abs(cd) - 0.5
    elif kind == "nan":
        cd = rng.standard_normal(shape).astype(np.float32)
        cd[rng.random(shape) < 0.2] = np.nan
        cd[:, 2] = np.nan
    elif kind in ("ascending", "descending"):
        cd = np.sort(rng.standard_normal(shape).astype(np.float32), axis=0)
        if kind == "descending":
            cd = cd[::-1].copy()
    elif kind == "sampled_best":
        # Every 16th signature from the 8th (the kernel's sample) holds a gene's most extreme values.
        cd = rng.uniform(-1, 1, shape).astype(np.float32)
        cd[8::16] = np.where(rng.random((len(cd[8::16]), N_GENES)) < 0.5, 10.0, -10.0) + rng.uniform(-1, 1, (len(cd[8::16]), N_GENES))
    cd[rng.random(shape) < 0.05] = -0.0
    logfc = np.round(rng.standard_normal(shape)).astype(np.float32)
    logfc[rng.random(shape) < 0.2] = -0.0
    if kind == "ascending":
        logfc = np.sort(logfc, axis=0)
    if kind == "tied_ranks":
        rank_up = rng.integers(1, 3, size=shape).astype(np.int32)
        rank_up[cd < 0] = N_GENES + 1 - rng.integers(1, 3, size=int((cd < 0).sum()))
    else:
        rank_up = ranks_up(cd)
    return cd, logfc, rank_up


def _accumulated(columns, cd, logfc, rank_up, k):
    acc = TopKAccumulator(N_GENES, k=k)
    for a in range(0, len(columns), 256):
        acc.update(columns[a : a + 256], cd[a : a + 256], logfc[a : a + 256], rank_up[a : a + 256])
    return acc.rows()


def _columns(subset: str, n_store: int, rng) -> np.ndarray:
    if subset == "all":
        return np.arange(n_store)
    if subset == "alternate":
        return np.arange(1, n_store, 2)
    if subset == "two_runs":
        return np.concatenate([np.arange(5, n_store // 3), np.arange(n_store // 2, n_store - 3)])
    return np.sort(rng.choice(n_store, n_store * 2 // 3, replace=False))


def _assert_equal(got, expected, context):
    for field in FIELDS:
        np.testing.assert_array_equal(getattr(got, field), getattr(expected, field), err_msg=f"{field} ({context})")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("n_store", "k"), [(3000, 100), (1200, 30), (700, 1), (60, 100), (450, 7)])
@pytest.mark.parametrize("subset", ["all", "alternate", "two_runs", "scattered"])
def test_kernel_rows_equal_the_accumulator_rows(kind, n_store, k, subset):
    seed = zlib.crc32(f"{kind} {n_store} {k} {subset}".encode())
    cd, logfc, rank_up = _signatures(kind, n_store, seed)
    columns = _columns(subset, n_store, np.random.default_rng(seed))
    expected = _accumulated(columns, cd[columns], logfc[columns], rank_up[columns], k)
    got = top_rows_from_genes(np.arange(N_GENES), columns, cd[columns].T, logfc[columns].T, rank_up[columns].T, n_genes=N_GENES, k=k)
    _assert_equal(got, expected, f"{kind}, {len(columns)} columns, k={k}")


@pytest.mark.parametrize("kind", ["integer", "nan", "ascending", "sampled_best", "tied_ranks"])
@pytest.mark.parametrize(("capacity_per_k", "stride"), [(1, 16), (1, 2), (2, 1000), (4, 3), (8, 16)])
def test_buffer_sizes_and_sample_strides_change_nothing(monkeypatch, kind, capacity_per_k, stride):
    """capacity_per_k = 1 gives buffers of k + 1 pairs: a compaction on nearly every entry."""
    monkeypatch.setattr(topk_rows, "CAPACITY_PER_K", capacity_per_k)
    monkeypatch.setattr(topk_rows, "SAMPLE_STRIDE", stride)
    cd, logfc, rank_up = _signatures(kind, 2500, seed=capacity_per_k * 1000 + stride)
    columns = np.arange(2500) * 2 + 3
    expected = _accumulated(columns, cd, logfc, rank_up, 40)
    got = top_rows_from_genes(np.arange(N_GENES), columns, cd.T, logfc.T, rank_up.T, n_genes=N_GENES, k=40)
    _assert_equal(got, expected, f"{kind}, capacity {capacity_per_k} k, stride {stride}")


def test_int16_and_int32_ranks_give_the_same_rows():
    cd, logfc, rank_up = _signatures("integer", 1500, seed=5)
    columns = np.arange(1500)
    rows = [top_rows_from_genes(np.arange(N_GENES), columns, cd.T, logfc.T, rank_up.T.astype(dtype), n_genes=N_GENES, k=50) for dtype in (np.int16, np.int32)]
    _assert_equal(rows[0], rows[1], "int16 against int32")


def test_the_kernel_stays_inside_its_arrays():
    """The hard rows again, compiled with NUMBA_BOUNDSCHECK=1 (an index outside an array raises) in a fresh cache."""
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
        import numpy as np
        from signatures import topk_rows
        from test_topk_kernel_matches_the_accumulator_on_hard_rows import KINDS, N_GENES, _signatures

        for capacity_per_k in (1, 4):
            topk_rows.CAPACITY_PER_K = capacity_per_k
            for kind in KINDS:
                for n, k in ((2000, 100), (300, 1), (50, 100)):
                    cd, logfc, rank_up = _signatures(kind, n, seed=n + k)
                    topk_rows.top_rows_from_genes(np.arange(N_GENES), np.arange(n), cd.T, logfc.T, rank_up.T, n_genes=N_GENES, k=k)
        print("in bounds")
        """
    )
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=cache)
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("in bounds")
