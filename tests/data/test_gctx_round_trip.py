"""Our GCTX writer's files read back through our reader with the same ids, values and metadata."""

import h5py
import numpy as np
import pandas as pd
import pytest

from conversion.formats import FormatError
from conversion.formats.gctx import GctxReader, GctxWriter, write_gctx


def _matrix(n_cols=7, n_rows=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(8, 2, size=(n_cols, n_rows)).astype(np.float32)


def test_written_matrix_reads_back_identically_with_ids_and_metadata(tmp_path):
    m = _matrix()
    row_ids = ["5720", "55847", "7416", "10174", "25803"]
    col_ids = [f"PLATE_X1:A{i:02d}" for i in range(7)]
    row_meta = pd.DataFrame({"pr_gene_symbol": ["PSME1", "CISD1", "VDAC1", "SORBS3", "SPDEF"], "pr_is_lm": [1, 1, 0, 0, 1]})
    col_meta = pd.DataFrame(
        {"pert_type": ["ctl_vehicle"] * 3 + ["trt_cp"] * 4, "pert_dose": [None] * 3 + [0.1, 1.0, 10.0, 10.0], "pert_time": [24] * 7}
    )
    path = write_gctx(tmp_path / "m.gctx", m, row_ids, col_ids, row_meta=row_meta, col_meta=col_meta)

    with GctxReader(path) as r:
        assert r.shape == (7, 5)
        assert list(r.row_ids) == row_ids and list(r.col_ids) == col_ids
        np.testing.assert_array_equal(r.read(), m)
        assert list(r.row_meta["pr_gene_symbol"]) == ["PSME1", "CISD1", "VDAC1", "SORBS3", "SPDEF"]
        assert list(r.row_meta["pr_is_lm"]) == [1, 1, 0, 0, 1]
        assert list(r.col_meta.index) == col_ids
        assert r.col_meta["pert_dose"].isna().sum() == 3  # None was stored as -666 and read back as missing
        assert r.col_meta["pert_dose"].iloc[4] == 1.0
    with h5py.File(path) as h5:
        assert h5.attrs["version"] == b"GCTX1.0"
        assert h5["0/META/COL/pert_dose"][0] == -666


def test_selected_rows_and_columns_come_back_in_the_requested_order(tmp_path):
    m = _matrix(n_cols=50, n_rows=6)
    path = write_gctx(tmp_path / "m.gctx", m, [str(i) for i in range(6)], [f"c{i}" for i in range(50)])
    cols = [40, 3, 3, 0, 49, 7]
    rows = [5, 0, 2]
    with GctxReader(path) as r:
        np.testing.assert_array_equal(r.read(cols=cols, rows=rows), m[cols][:, rows])
        np.testing.assert_array_equal(r.read(rows=rows), m[:, rows])


def test_block_by_block_writing_equals_writing_at_once(tmp_path):
    m = _matrix(n_cols=23, n_rows=4)
    rows, cols = [str(i) for i in range(4)], [f"c{i}" for i in range(23)]
    with GctxWriter(tmp_path / "blocks.gctx", rows, 23) as w:
        for start in (20, 0, 10):  # out of order on purpose: writes are positional
            stop = min(start + 10, 23)
            w.write(start, m[start:stop], cols[start:stop])
    with GctxReader(tmp_path / "blocks.gctx") as r:
        np.testing.assert_array_equal(r.read(), m)
        assert list(r.col_ids) == cols


def test_float16_output_is_stored_as_float16_and_read_as_float32(tmp_path):
    m = _matrix()
    path = write_gctx(tmp_path / "h.gctx", m, [str(i) for i in range(5)], [f"c{i}" for i in range(7)], dtype="float16")
    with GctxReader(path) as r:
        assert r.dtype == np.float16
        block = r.read()
    assert block.dtype == np.float32
    np.testing.assert_allclose(block, m, rtol=1e-3)  # float16 keeps ~3 significant digits


def test_an_exception_while_writing_leaves_no_file_behind(tmp_path):
    out_dir = tmp_path / "out"
    target = out_dir / "out.gctx"
    with pytest.raises(RuntimeError):
        with GctxWriter(target, ["1", "2"], 4) as w:
            w.write(0, np.ones((2, 2)), ["a", "b"])
            raise RuntimeError("worker killed")
    assert list(out_dir.iterdir()) == []


def test_closing_with_unwritten_columns_fails_and_leaves_no_file(tmp_path):
    out_dir = tmp_path / "out"
    target = out_dir / "out.gctx"
    with pytest.raises(FormatError, match="expected all 4 columns to be written, found 2 missing"):
        with GctxWriter(target, ["1", "2"], 4) as w:
            w.write(0, np.ones((2, 2)), ["a", "b"])
    assert list(out_dir.iterdir()) == []


def test_an_existing_file_is_replaced_only_when_the_new_one_is_complete(tmp_path):
    out_dir = tmp_path / "out"
    target = out_dir / "out.gctx"
    write_gctx(target, np.zeros((1, 2)), ["1", "2"], ["old"])
    with pytest.raises(ValueError):
        write_gctx(target, np.zeros((2, 2)), ["1", "2"], ["a", "a"])  # duplicate column ids
    with GctxReader(target) as r:
        assert list(r.col_ids) == ["old"]
    assert sorted(p.name for p in out_dir.iterdir()) == ["out.gctx"]
