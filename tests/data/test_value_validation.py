"""Matrices with NaN/inf, non-log values or mismatched metadata are refused with a clear sentence."""

import numpy as np
import pytest

from conversion.formats import FormatError
from conversion.formats.gctx import GctxReader, write_gctx
from conversion.formats.validate import check_metadata_matches, validate_matrix


def _file(tmp_path, m):
    return write_gctx(tmp_path / "m.gctx", m, [str(i) for i in range(m.shape[1])], [f"s{i}" for i in range(m.shape[0])])


def test_nan_is_reported_with_its_sample_and_gene(tmp_path):
    m = np.full((30, 4), 8.0, dtype=np.float32)
    m[21, 2] = np.nan
    with GctxReader(_file(tmp_path, m)) as r:
        with pytest.raises(FormatError, match=r"m\.gctx: expected finite expression values, found nan for sample 21 at gene position 2"):
            validate_matrix(r, chunk_size=8)


def test_infinite_values_are_refused(tmp_path):
    m = np.full((3, 4), 8.0, dtype=np.float32)
    m[0, 0] = np.inf
    with GctxReader(_file(tmp_path, m)) as r:
        with pytest.raises(FormatError, match="found inf"):
            validate_matrix(r)


def test_raw_counts_are_reported_as_not_log_scale(tmp_path):
    m = np.full((3, 4), 1200.0, dtype=np.float32)
    with GctxReader(_file(tmp_path, m)) as r:
        with pytest.raises(FormatError, match=r"expected log2-scale values \(at most 25\), found a maximum of 1200"):
            validate_matrix(r)


def test_a_valid_matrix_is_summarised(tmp_path):
    m = np.arange(12, dtype=np.float32).reshape(3, 4)
    with GctxReader(_file(tmp_path, m)) as r:
        s = validate_matrix(r, chunk_size=2)
    assert (s.n_profiles, s.n_genes, s.min, s.max) == (3, 4, 0.0, 11.0)
    assert s.mean == pytest.approx(5.5)


def test_metadata_rows_that_do_not_match_the_columns_are_named():
    with pytest.raises(FormatError, match=r"inst_info\.tsv: expected 3 rows to match the columns of m\.gctx, found 2"):
        check_metadata_matches(["a", "b"], ["a", "b", "c"], path="m.gctx", meta_path="inst_info.tsv")
    with pytest.raises(FormatError, match=r"expected row 1 to describe column 'b' of m\.gctx, found 'c'"):
        check_metadata_matches(["a", "c", "b"], ["a", "b", "c"], path="m.gctx", meta_path="inst_info.tsv")
