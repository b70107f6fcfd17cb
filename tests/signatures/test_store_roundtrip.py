"""The signature store: what is written is read back, by gene and by signature."""

import h5py
import numpy as np
import pytest

from conversion.formats.gctx import GctxReader
from signatures.store import StoreError, StoreWriter, open_store, ranks_up, write_store


def _random_store(tmp_path, n_sigs=7, n_genes=11, seed=0):
    rng = np.random.default_rng(seed)
    genes = rng.choice(100_000, size=n_genes, replace=False) + 1
    cd = rng.standard_normal((n_sigs, n_genes)).astype(np.float32)
    logfc = rng.standard_normal((n_sigs, n_genes)).astype(np.float32)
    sig_ids = [f"B{i}:BRD-{i}:10:24" for i in range(n_sigs)]
    symbols = [f"G{g}" for g in genes]
    write_store(tmp_path / "store", genes, sig_ids, cd, logfc, symbols=symbols)
    return genes, sig_ids, cd, logfc, symbols


def test_read_gene_returns_the_gene_column_of_both_metrics(tmp_path):
    genes, sig_ids, cd, logfc, _ = _random_store(tmp_path)
    with open_store(tmp_path / "store") as store:
        assert store.n_signatures == len(sig_ids)
        assert list(store.gene_entrez_ids) == list(genes)
        for j, g in enumerate(genes):
            values = store.read_gene(g)
            np.testing.assert_array_equal(values.cd, cd[:, j])
            np.testing.assert_array_equal(values.logfc, logfc[:, j])
            assert values.cd.dtype == np.float32 and values.rank_up.dtype == np.int16  # every rank fits: the store keeps int16
            np.testing.assert_array_equal(store.read_gene_ranks(g), ranks_up(cd)[:, j])
        # Entrez ids as strings are accepted too.
        np.testing.assert_array_equal(store.read_gene(str(genes[0])).cd, cd[:, 0])


def test_rank_up_is_one_for_each_signatures_most_positive_gene(tmp_path):
    genes, _, cd, _, _ = _random_store(tmp_path)
    with open_store(tmp_path / "store") as store:
        ranks = np.stack([store.read_gene(g).rank_up for g in genes], axis=1)  # (n_sigs, n_genes)
    for i in range(cd.shape[0]):
        # Independent reference: rank = 1 + number of genes with a larger coefficient.
        expected = 1 + (cd[i][None, :] > cd[i][:, None]).sum(axis=1)
        np.testing.assert_array_equal(ranks[i], expected)
        assert ranks[i, np.argmax(cd[i])] == 1
        down = len(genes) + 1 - ranks[i]
        assert down[np.argmin(cd[i])] == 1


def test_ranks_are_a_permutation_even_with_ties():
    cd = np.array([[0.5, 0.5, -1.0, 0.5]], dtype=np.float32)
    assert sorted(ranks_up(cd)[0]) == [1, 2, 3, 4]
    assert ranks_up(cd)[0, 2] == 4


def test_read_signature_returns_the_row_of_the_signature_major_gctx(tmp_path):
    genes, sig_ids, cd, logfc, symbols = _random_store(tmp_path)
    with open_store(tmp_path / "store") as store:
        for col in range(len(sig_ids)):
            got_cd, got_logfc = store.read_signature(col)
            np.testing.assert_array_equal(got_cd, cd[col])
            np.testing.assert_array_equal(got_logfc, logfc[col])
        with pytest.raises(StoreError, match="outside"):
            store.read_signature(len(sig_ids))


def test_gctx_files_use_the_cmap_layout(tmp_path):
    genes, sig_ids, cd, logfc, symbols = _random_store(tmp_path)
    with h5py.File(tmp_path / "store" / "cd.gctx", "r") as f:
        assert f.attrs["version"] in (b"GCTX1.0", "GCTX1.0")
        assert f["0/DATA/0/matrix"].shape == (len(sig_ids), len(genes))
    for name, expected in (("cd.gctx", cd), ("logfc.gctx", logfc)):
        with GctxReader(tmp_path / "store" / name) as reader:
            assert list(reader.row_ids) == [str(g) for g in genes]
            assert list(reader.col_ids) == sig_ids
            assert list(reader.row_meta["pr_gene_symbol"]) == symbols
            np.testing.assert_array_equal(reader.read(), expected)


def test_gene_major_rows_are_stored_contiguously(tmp_path):
    _random_store(tmp_path)
    with h5py.File(tmp_path / "store" / "gene_major.h5", "r") as f:
        for name in ("cd", "logfc", "rank_up"):
            assert f[name].chunks is None  # contiguous: one gene row is one byte range


def test_unknown_gene_is_a_clear_error(tmp_path):
    _random_store(tmp_path)
    with open_store(tmp_path / "store") as store:
        with pytest.raises(StoreError, match="Gene 0 is not in the signature store"):
            store.read_gene(0)


def test_blocks_written_out_of_order_assemble_the_same_store(tmp_path):
    rng = np.random.default_rng(1)
    genes = np.arange(1, 6)
    cd = rng.standard_normal((9, 5)).astype(np.float32)
    logfc = rng.standard_normal((9, 5)).astype(np.float32)
    ids = [f"s{i}" for i in range(9)]
    with StoreWriter(tmp_path / "s", genes, 9) as w:
        w.write(4, ids[4:], cd[4:], logfc[4:])
        w.write(0, ids[:4], cd[:4], logfc[:4])
    with open_store(tmp_path / "s") as store:
        assert list(store.sig_ids) == ids
        np.testing.assert_array_equal(store.read_gene(3).cd, cd[:, 2])


def test_a_failed_write_leaves_no_store_behind(tmp_path):
    genes = np.arange(1, 6)
    block = np.zeros((2, 5), dtype=np.float32)
    with pytest.raises(RuntimeError):
        with StoreWriter(tmp_path / "s", genes, 4) as w:
            w.write(0, ["a", "b"], block, block)
            raise RuntimeError("worker killed")
    assert not (tmp_path / "s").exists() and list(tmp_path.glob(".s.*")) == []  # neither the store nor a temporary directory
    with pytest.raises(StoreError, match="not a complete signature store"):
        open_store(tmp_path / "s")


def test_a_store_missing_signatures_is_refused_and_not_written(tmp_path):
    genes = np.arange(1, 6)
    block = np.zeros((2, 5), dtype=np.float32)
    with pytest.raises(StoreError, match="missing 2 of 4 signatures"):
        with StoreWriter(tmp_path / "s", genes, 4) as w:
            w.write(0, ["a", "b"], block, block)
    assert not (tmp_path / "s").exists() and list(tmp_path.glob(".s.*")) == []  # neither the store nor a temporary directory


def test_block_of_the_wrong_shape_names_expected_and_found(tmp_path):
    with pytest.raises(StoreError, match=r"\(1, 5\), found \(1, 4\)"):
        with StoreWriter(tmp_path / "s", np.arange(1, 6), 1) as w:
            w.write(0, ["a"], np.zeros((1, 4)), np.zeros((1, 4)))


def test_ranks_of_a_large_block_on_threads_equal_ranking_each_row_alone(monkeypatch):
    from signatures import store

    monkeypatch.setattr(store, "RANK_THREADS", 2)
    monkeypatch.setattr(store, "RANK_ROWS_PER_TASK", 16)
    rng = np.random.default_rng(4)
    cd = rng.integers(-3, 4, size=(77, 50)).astype(np.float32)  # ties, zeros
    cd[rng.random(cd.shape) < 0.05] = np.nan
    cd[3, :] = -0.0
    ranked = store.ranks_up(cd)
    assert ranked.dtype == np.int32
    np.testing.assert_array_equal(ranked, np.stack([store._ranks_up(row[None, :])[0] for row in cd]))
