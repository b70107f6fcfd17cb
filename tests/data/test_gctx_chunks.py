"""Chunked reads cover the matrix exactly once and equal a full read."""

import numpy as np

from conversion.formats.gctx import GctxReader, write_gctx


def test_chunks_concatenate_to_the_full_matrix(tmp_path):
    rng = np.random.default_rng(1)
    m = rng.normal(size=(103, 9)).astype(np.float32)
    cols = [f"s{i}" for i in range(103)]
    path = write_gctx(tmp_path / "m.gctx", m, [str(g) for g in range(9)], cols)
    with GctxReader(path) as r:
        starts, ids, blocks = zip(*r.iter_chunks(25))
        full = r.read()
    assert starts == (0, 25, 50, 75, 100)
    assert [len(b) for b in blocks] == [25, 25, 25, 25, 3]
    assert list(np.concatenate(ids)) == cols
    np.testing.assert_array_equal(np.concatenate(blocks), full)
    np.testing.assert_array_equal(full, m)


def test_chunks_with_a_gene_selection_and_a_resume_point(tmp_path):
    rng = np.random.default_rng(2)
    m = rng.normal(size=(40, 12)).astype(np.float32)
    path = write_gctx(tmp_path / "m.gctx", m, [str(g) for g in range(12)], [f"s{i}" for i in range(40)])
    genes = [11, 0, 5]
    with GctxReader(path) as r:
        chunks = list(r.iter_chunks(16, rows=genes, start=16))
    assert [c[0] for c in chunks] == [16, 32]
    np.testing.assert_array_equal(np.concatenate([c[2] for c in chunks]), m[16:, genes])


def test_reused_buffer_blocks_equal_fresh_blocks_when_consumed_in_turn(tmp_path):
    rng = np.random.default_rng(3)
    m = rng.normal(size=(37, 6)).astype(np.float32)
    path = write_gctx(tmp_path / "m.gctx", m, [str(g) for g in range(6)], [f"s{i}" for i in range(37)])
    with GctxReader(path) as r:
        copies = [block.copy() for _, _, block in r.iter_chunks(10, reuse_buffer=True)]
        subset = [block.copy() for _, _, block in r.iter_chunks(10, rows=[4, 1], reuse_buffer=True)]
    np.testing.assert_array_equal(np.concatenate(copies), m)
    np.testing.assert_array_equal(np.concatenate(subset), m[:, [4, 1]])
