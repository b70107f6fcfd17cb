"""A dataset made of several Level 3 files (LINCS 2020 ctl + trt_*) reads as one matrix through its manifest."""

import json
import os

import numpy as np
import pandas as pd
import pytest

from conversion.formats import FormatError, open_matrix
from conversion.formats.gctx import GctxReader, write_gctx
from conversion.formats.multi import MultiReader, manifest_for, manifest_text

GENES = [str(e) for e in (5720, 55847, 7416, 10013, 2058, 3638, 1017)]


def _member(path, col_ids, *, seed, genes=GENES, pert_type="trt_cp", extra_field=True):
    rng = np.random.default_rng(seed)
    values = rng.uniform(2, 14, size=(len(col_ids), len(genes))).astype(np.float32)  # (samples, genes)
    fields = {"pert_type": [pert_type] * len(col_ids), "rna_plate": [c.split(":")[0] for c in col_ids]}
    if extra_field:
        fields["pert_dose"] = np.arange(len(col_ids), dtype=np.float64)
    row_meta = pd.DataFrame({"pr_gene_id": np.asarray(genes, dtype=np.int64)}, index=genes)
    write_gctx(path, values, genes, col_ids, row_meta=row_meta, col_meta=pd.DataFrame(fields, index=col_ids))
    return path


def _manifest(path, members, **kwargs):
    path.write_text(manifest_text(manifest_for(members, manifest_path=path, **kwargs)))
    return path


@pytest.fixture
def split(tmp_path):
    """A ctl file of 5 columns and a trt file of 8, and their manifest."""
    ctl = _member(tmp_path / "ctl.gctx", [f"P1:C{i}" for i in range(5)], seed=1, pert_type="ctl_vehicle", extra_field=False)
    trt = _member(tmp_path / "trt.gctx", [f"P1:T{i}" for i in range(8)], seed=2)
    return ctl, trt, _manifest(tmp_path / "x.l1kset.json", [ctl, trt])


def _concatenated(*paths):
    with GctxReader(paths[0]) as a, GctxReader(paths[1]) as b:
        return np.concatenate([a.read(), b.read()]), np.concatenate([a.col_ids, b.col_ids]), pd.concat([a.col_meta, b.col_meta])


def test_a_manifest_reads_as_its_members_concatenated_in_order(split):
    ctl, trt, manifest = split
    values, col_ids, col_meta = _concatenated(ctl, trt)
    with open_matrix(manifest) as reader:
        assert isinstance(reader, MultiReader)
        assert reader.shape == (13, len(GENES))
        assert list(reader.row_ids) == GENES and list(reader.row_meta["pr_gene_id"]) == [int(g) for g in GENES]
        assert list(reader.col_ids) == list(col_ids)
        np.testing.assert_array_equal(reader.read(), values)
        # The ctl file has no pert_dose: missing for its columns, the trt file's values for its own.
        assert list(reader.col_meta.index) == list(col_ids)
        assert list(reader.col_meta["pert_type"]) == list(col_meta["pert_type"])
        assert reader.col_meta["pert_dose"].iloc[:5].isna().all()
        np.testing.assert_array_equal(reader.col_meta["pert_dose"].iloc[5:], np.arange(8))


def test_read_takes_columns_from_both_members_in_any_order(split):
    ctl, trt, manifest = split
    values, _, _ = _concatenated(ctl, trt)
    cols = [12, 0, 7, 4, 5, 4, 1, 11]  # across the boundary at 5, out of order, one repeated
    rows = [6, 0, 3]
    with open_matrix(manifest) as reader:
        np.testing.assert_array_equal(reader.read(cols=cols), values[cols])
        np.testing.assert_array_equal(reader.read(cols=cols, rows=rows), values[cols][:, rows])
        np.testing.assert_array_equal(reader.read(cols=slice(3, 9)), values[3:9])
        assert reader.read(cols=[]).shape == (0, len(GENES))


def test_read_asks_each_member_only_for_its_own_columns(split, monkeypatch):
    _, _, manifest = split
    asked = []
    original = GctxReader.read

    def spy(self, cols=None, rows=None):
        asked.append((self.path.name, None if cols is None else sorted(np.asarray(cols).tolist())))
        return original(self, cols=cols, rows=rows)

    monkeypatch.setattr(GctxReader, "read", spy)
    with open_matrix(manifest) as reader:
        reader.read(cols=[6, 1, 7])
    assert asked == [("ctl.gctx", [1]), ("trt.gctx", [1, 2])]


@pytest.mark.parametrize("chunk_size, start", [(3, 0), (5, 0), (4, 2), (20, 0), (1, 4)])
def test_iter_chunks_streams_across_the_member_boundary(split, chunk_size, start):
    ctl, trt, manifest = split
    values, col_ids, _ = _concatenated(ctl, trt)
    rows = [2, 5]
    with open_matrix(manifest) as reader:
        chunks = list(reader.iter_chunks(chunk_size, rows=rows, start=start))
    assert [lo for lo, _, _ in chunks] == list(range(start, 13, chunk_size))
    assert all(len(block) == min(chunk_size, 13 - lo) for lo, _, block in chunks)
    np.testing.assert_array_equal(np.concatenate([ids for _, ids, _ in chunks]), col_ids[start:])
    np.testing.assert_array_equal(np.concatenate([block for _, _, block in chunks]), values[start:, rows])


def test_members_under_the_root_are_recorded_relative_to_the_manifest(tmp_path):
    (tmp_path / "level3").mkdir()
    (tmp_path / "datasets").mkdir()
    ctl = _member(tmp_path / "level3" / "ctl.gctx", ["P1:C0", "P1:C1"], seed=1)
    trt = _member(tmp_path / "trt.gctx", ["P1:T0"], seed=2)
    manifest = _manifest(tmp_path / "datasets" / "x.l1kset.json", [ctl, trt], relative_to=tmp_path / "level3")
    recorded = json.loads(manifest.read_text())
    assert recorded["format"] == "l1kweb.l1kset" and recorded["version"] == 1
    assert (recorded["n_rows"], recorded["n_cols"]) == (len(GENES), 3)
    assert [m["path"] for m in recorded["members"]] == [os.path.join("..", "level3", "ctl.gctx"), str(trt.resolve())]
    assert [m["n_cols"] for m in recorded["members"]] == [2, 1]
    assert recorded["members"][0]["size"] == ctl.stat().st_size
    with open_matrix(manifest) as reader:
        assert list(reader.col_ids) == ["P1:C0", "P1:C1", "P1:T0"]


def test_members_with_other_rows_are_refused_naming_the_file_and_the_row(tmp_path):
    ctl = _member(tmp_path / "ctl.gctx", ["C0"], seed=1)
    swapped = GENES[:3] + [GENES[4], GENES[3]] + GENES[5:]
    trt = _member(tmp_path / "trt.gctx", ["T0"], seed=2, genes=swapped)
    with pytest.raises(FormatError, match=r"member .*trt\.gctx to have the rows of .*ctl\.gctx in the same order, found row 3 is '2058' where .*ctl\.gctx has '10013'\."):
        manifest_for([ctl, trt], manifest_path=tmp_path / "x.l1kset.json")  # the manifest is checked as it is written ...
    shorter = _member(tmp_path / "short.gctx", ["T0"], seed=2, genes=GENES[:-1])
    path = tmp_path / "x.l1kset.json"
    path.write_text(manifest_text({"format": "l1kweb.l1kset", "version": 1, "n_rows": 7, "n_cols": 2, "members": [
        manifest_for([ctl], manifest_path=path)["members"][0], manifest_for([shorter], manifest_path=path)["members"][0]]}))
    with pytest.raises(FormatError, match=r"member .*short\.gctx to have the 7 rows of .*ctl\.gctx, found 6\."):
        open_matrix(path)  # ... and again when it is opened


def test_a_column_id_in_two_members_is_refused_naming_both_files(tmp_path):
    ctl = _member(tmp_path / "ctl.gctx", ["A", "B", "C"], seed=1)
    trt = _member(tmp_path / "trt.gctx", ["D", "B"], seed=2)
    with pytest.raises(FormatError, match=r"column ids unique across the member files, found 'B' in both .*ctl\.gctx and .*trt\.gctx\."):
        _manifest(tmp_path / "x.l1kset.json", [ctl, trt])
    assert not (tmp_path / "x.l1kset.json").exists()


def test_a_member_changed_after_the_manifest_was_written_is_refused(split):
    ctl, trt, manifest = split
    before = trt.stat().st_mtime_ns
    _member(trt, [f"P1:T{i}" for i in range(8)], seed=3)  # same shape, other values
    os.utime(trt, ns=(before + 10**9, before + 10**9))  # a later time, even on a coarse file-system clock
    with pytest.raises(FormatError, match=r"x\.l1kset\.json: member .*trt\.gctx changed since the manifest was written .*import the dataset again"):
        open_matrix(manifest)
    trt.unlink()
    with pytest.raises(FormatError, match=r"member file .*trt\.gctx does not exist\."):
        open_matrix(manifest)


def test_a_json_file_that_is_not_a_manifest_is_refused(tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"format": "something else"}')
    with pytest.raises(FormatError, match=r"other\.json: expected a dataset manifest with format 'l1kweb\.l1kset', found 'something else'\."):
        open_matrix(path)
