"""A store's gene rows are read-only views of its memory-mapped gene-major file: the values h5py reads, kept when
the directory is swapped, and h5py itself where a dataset cannot be mapped."""

import shutil

import h5py
import numpy as np
import pytest

from signatures.store import GENE_MAJOR_FILE, open_store, write_store


def _store(directory, seed, n_sigs=9, n_genes=6):
    rng = np.random.default_rng(seed)
    genes = np.arange(1, n_genes + 1)
    cd = rng.standard_normal((n_sigs, n_genes)).astype(np.float32)
    cd[0, 0] = np.nan
    logfc = rng.standard_normal((n_sigs, n_genes)).astype(np.float32)
    write_store(directory, genes, [f"S{i}" for i in range(n_sigs)], cd, logfc)
    return genes, cd, logfc


def test_mapped_rows_equal_h5pys_and_cannot_be_written(tmp_path):
    genes, cd, logfc = _store(tmp_path / "store", seed=1)
    with open_store(tmp_path / "store") as store, h5py.File(tmp_path / "store" / GENE_MAJOR_FILE, "r") as f:
        assert set(store._rows) == {"cd", "logfc", "rank_up"}
        for i, g in enumerate(genes):
            values = store.read_gene(g)
            np.testing.assert_array_equal(values.cd, f["cd"][i])
            np.testing.assert_array_equal(values.logfc, f["logfc"][i])
            np.testing.assert_array_equal(values.rank_up, f["rank_up"][i])
            np.testing.assert_array_equal(store.read_gene_ranks(g), f["rank_up"][i])
            assert type(values.cd) is np.ndarray and values.cd.dtype == np.float32
            with pytest.raises(ValueError, match="read-only"):
                values.cd[0] = 1.0
        np.testing.assert_array_equal(store.read_gene(genes[2]).cd[[4, 0, 7]], cd[[4, 0, 7], 2])


def test_an_open_store_keeps_reading_the_rows_it_opened_after_a_swap(tmp_path):
    genes, cd, _ = _store(tmp_path / "store", seed=2)
    store = open_store(tmp_path / "store")
    try:
        _store(tmp_path / "new", seed=3)
        shutil.rmtree(tmp_path / "store")
        (tmp_path / "new").rename(tmp_path / "store")
        np.testing.assert_array_equal(store.read_gene(genes[1]).cd, cd[:, 1])
    finally:
        store.close()
    with open_store(tmp_path / "store") as fresh:
        assert not np.array_equal(fresh.read_gene(genes[1]).cd, cd[:, 1])


def test_a_chunked_dataset_is_read_through_h5py(tmp_path):
    genes, cd, logfc = _store(tmp_path / "store", seed=4)
    path = tmp_path / "store" / GENE_MAJOR_FILE
    with h5py.File(path, "a") as f:
        values = f["logfc"][:]
        del f["logfc"]
        f.create_dataset("logfc", data=values, chunks=(1, values.shape[1]), compression="gzip")
    with open_store(tmp_path / "store") as store:
        assert "logfc" not in store._rows and "cd" in store._rows
        np.testing.assert_array_equal(store.read_gene(genes[3]).logfc, logfc[:, 3])
        np.testing.assert_array_equal(store.read_gene(genes[3]).cd, cd[:, 3])
