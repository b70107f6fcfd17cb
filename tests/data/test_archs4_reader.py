"""ARCHS4 gene-count files: genes x samples on disk, samples x genes out, any sample order."""

import h5py
import numpy as np
import pytest

from conversion.formats import FormatError
from conversion.formats.archs4 import Archs4Reader


def _archs4(path, counts_genes_by_samples, symbols, *, symbol_field="meta/genes/symbol"):
    with h5py.File(path, "w") as h5:
        h5.create_dataset("data/expression", data=counts_genes_by_samples, chunks=(2, 3))
        h5[symbol_field] = np.array([s.encode() for s in symbols])
        h5["meta/samples/geo_accession"] = np.array([f"GSM{i}".encode() for i in range(counts_genes_by_samples.shape[1])])
    return path


def test_samples_come_back_as_rows_in_the_requested_order(tmp_path):
    counts = np.arange(5 * 40, dtype=np.uint32).reshape(5, 40)  # (genes, samples) as stored
    with Archs4Reader(_archs4(tmp_path / "a.h5", counts, ["A", "B", "C", "D", "E"])) as r:
        assert (r.n_samples, r.n_genes) == (40, 5)
        idx = [39, 0, 17, 18, 0]
        np.testing.assert_array_equal(r.read_samples(idx), counts[:, idx].T)
        np.testing.assert_array_equal(r.read_samples(idx, genes=[4, 1]), counts[[4, 1]][:, idx].T)
        chunks = list(r.iter_samples(np.arange(40), chunk_size=16))
        assert [len(p) for p, _ in chunks] == [16, 16, 8]
        np.testing.assert_array_equal(np.concatenate([c for _, c in chunks]), counts.T)
        assert r.sample_ids[3] == "GSM3"


def test_version1_files_keep_symbols_under_meta_genes_genes(tmp_path):
    path = _archs4(tmp_path / "v1.h5", np.zeros((3, 4), dtype=np.uint32), ["X", "Y", "Z"], symbol_field="meta/genes/genes")
    with Archs4Reader(path) as r:
        assert list(r.symbols) == ["X", "Y", "Z"]
        assert list(r.ensembl_ids) == ["", "", ""]


def test_a_file_without_symbols_is_refused_with_the_fields_tried(tmp_path):
    path = tmp_path / "nosym.h5"
    with h5py.File(path, "w") as h5:
        h5["data/expression"] = np.zeros((3, 4), dtype=np.uint32)
    with pytest.raises(FormatError, match=r"nosym\.h5: expected gene symbols in one of /meta/genes/symbol"):
        Archs4Reader(path)


def test_symbol_count_must_match_the_expression_rows(tmp_path):
    path = _archs4(tmp_path / "bad.h5", np.zeros((3, 4), dtype=np.uint32), ["X", "Y"])
    with pytest.raises(FormatError, match=r"expected 3 gene symbols in /meta/genes/symbol to match /data/expression, found shape \(2,\)"):
        Archs4Reader(path)


def test_a_random_subset_is_sorted_reproducible_and_respects_the_filter(tmp_path):
    with Archs4Reader(_archs4(tmp_path / "a.h5", np.zeros((2, 50), dtype=np.uint32), ["A", "B"])) as r:
        mask = np.arange(50) % 2 == 0
        picked = r.select_samples(10, seed=4, mask=mask)
        assert len(picked) == 10 and (np.diff(picked) > 0).all() and (picked % 2 == 0).all()
        np.testing.assert_array_equal(picked, r.select_samples(10, seed=4, mask=mask))
        assert len(r.select_samples()) == 50
