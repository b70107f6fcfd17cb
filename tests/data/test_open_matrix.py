"""open_matrix picks the reader from the file's first bytes and both readers behave alike."""

import numpy as np
import pytest

from conversion.formats import FormatError, open_matrix
from conversion.formats.gct import GctReader
from conversion.formats.gctx import GctxReader, write_gctx

GCT13 = """#1.3
3\t2\t1\t1
id\tpr_gene_id\tS1\tS2
pert_type\t-666\tctl_vehicle\ttrt_cp
p1\t5720\t1.5\t2.5
p2\t55847\t3.0\t-666
p3\t7416\t5.0\t6.0
"""


def test_gct_13_reads_as_samples_by_genes_with_metadata(tmp_path):
    path = tmp_path / "tiny.txt"  # not named .gct on purpose
    path.write_text(GCT13)
    with open_matrix(path) as r:
        assert isinstance(r, GctReader)
        assert r.shape == (2, 3)
        np.testing.assert_array_equal(r.read(cols=[1], rows=[2, 0]), [[6.0, 2.5]])
        assert r.row_meta.loc["p2", "pr_gene_id"] == 55847
        assert list(r.col_meta["pert_type"]) == ["ctl_vehicle", "trt_cp"]
        chunks = [b for _, _, b in r.iter_chunks(1)]
        np.testing.assert_array_equal(np.concatenate(chunks), r.read())


def test_gct_12_reads_without_metadata_lines(tmp_path):
    path = tmp_path / "old.gct"
    path.write_text("#1.2\n2\t3\nName\tDescription\ta\tb\tc\ng1\tfirst\t1\t2\t3\ng2\tsecond\t4\t5\t6\n")
    with open_matrix(path) as r:
        np.testing.assert_array_equal(r.read(), [[1, 4], [2, 5], [3, 6]])
        assert list(r.row_meta["Description"]) == ["first", "second"]


def test_hdf5_content_opens_as_gctx_whatever_the_name(tmp_path):
    path = write_gctx(tmp_path / "matrix.h5", np.eye(2, dtype=np.float32), ["1", "2"], ["a", "b"])
    with open_matrix(path) as r:
        assert isinstance(r, GctxReader)


def test_a_truncated_gct_names_the_missing_lines(tmp_path):
    path = tmp_path / "cut.gct"
    path.write_text("\n".join(GCT13.splitlines()[:-2]) + "\n")
    with pytest.raises(FormatError, match=r"cut\.gct: expected 3 data lines, found 1"):
        open_matrix(path)


def test_an_unknown_format_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(FormatError, match=r"x\.csv is neither GCTX \(HDF5\) nor GCT text"):
        open_matrix(path)
