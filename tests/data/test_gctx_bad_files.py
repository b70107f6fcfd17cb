"""Bad GCTX files give one sentence naming the file, what was expected and what was found."""

import h5py
import numpy as np
import pytest

from conversion.formats import FormatError, open_matrix
from conversion.formats.gctx import GctxReader, write_gctx


def _raw_gctx(path, matrix, row_ids, col_ids):
    with h5py.File(path, "w") as h5:
        h5.attrs["version"] = np.bytes_("GCTX1.0")
        h5["0/DATA/0/matrix"] = matrix
        h5["0/META/ROW/id"] = np.array([r.encode() for r in row_ids])
        h5["0/META/COL/id"] = np.array([c.encode() for c in col_ids])
    return path


def test_a_text_file_named_gctx_is_reported_as_not_hdf5(tmp_path):
    path = tmp_path / "plate.gctx"
    path.write_text("id\tA\n1\t2\n")
    with pytest.raises(FormatError, match=r"plate\.gctx is not a readable HDF5 file"):
        GctxReader(path)
    with pytest.raises(FormatError, match=r"plate\.gctx is not a readable HDF5 file"):
        open_matrix(path)


def test_a_truncated_gctx_is_reported_as_truncated_or_unreadable(tmp_path):
    good = write_gctx(tmp_path / "good.gctx", np.ones((400, 300), dtype=np.float32), [str(i) for i in range(300)], [f"s{i}" for i in range(400)])
    data = good.read_bytes()
    cut = tmp_path / "cut.gctx"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match=r"cut\.gctx.*(truncated|damaged)"):
        with GctxReader(cut) as r:
            r.read()


def test_a_transposed_matrix_is_reported_as_wrong_orientation(tmp_path):
    path = _raw_gctx(tmp_path / "t.gctx", np.zeros((3, 5), dtype=np.float32), [str(i) for i in range(3)], [f"s{i}" for i in range(5)])
    with pytest.raises(FormatError, match=r"t\.gctx: expected the matrix stored as \(samples, genes\) = \(5, 3\), found it transposed \(3, 5\)"):
        GctxReader(path)


def test_duplicate_column_ids_are_named(tmp_path):
    path = _raw_gctx(tmp_path / "d.gctx", np.zeros((3, 2), dtype=np.float32), ["1", "2"], ["a", "b", "a"])
    with pytest.raises(FormatError, match=r"d\.gctx: expected unique column \(sample\) ids, found 1 duplicated \(a\)"):
        GctxReader(path)


def test_missing_matrix_dataset_is_named(tmp_path):
    path = tmp_path / "empty.gctx"
    with h5py.File(path, "w") as h5:
        h5["0/META/ROW/id"] = np.array([b"1"])
    with pytest.raises(FormatError, match=r"expected dataset /0/DATA/0/matrix, found none"):
        GctxReader(path)
