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


# --- import_l1000 and compute_signatures on a split world (django) ---


def _split_world(world, out, *, trt_rows=None, trt_extra_col=None):
    """The tiny world's Level 3 file as LINCS 2020 ships it: the controls in a ctl file, the treatments in a trt file.

    trt_rows: the trt file's genes in this order (positions) instead of the ctl file's;
    trt_extra_col: a control's column id also written into the trt file.
    """
    with GctxReader(world["l1000"]) as r:
        is_ctl = r.col_meta["pert_type"].astype(str).str.startswith("ctl_").to_numpy()
        files = {}
        for kind, pos in (("ctl", np.flatnonzero(is_ctl)), ("trt", np.flatnonzero(~is_ctl))):
            rows = np.arange(len(r.row_ids)) if kind == "ctl" or trt_rows is None else np.asarray(trt_rows)
            col_ids = list(r.col_ids[pos])
            if kind == "trt" and trt_extra_col is not None:
                pos, col_ids = np.append(pos, 0), col_ids + [trt_extra_col]
            path = out / f"level3_{kind}.gctx"
            write_gctx(path, r.read(cols=pos, rows=rows), r.row_ids[rows], col_ids, row_meta=r.row_meta.iloc[rows])
            files[kind] = path
    return files["ctl"], files["trt"]


def _import(*paths, world, name="split"):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("import_l1000", *map(str, paths), "--inst-info", world["inst_info"], "--gene-info", world["gene_info"], "--name", name, stdout=out)
    return out.getvalue()


def _nothing_registered(data_dir):
    from conversion.models import Dataset

    assert not Dataset.objects.exists()
    assert not list((data_dir / "datasets").glob("*")) if (data_dir / "datasets").exists() else True
    assert not (data_dir / "metadata").exists() or not list((data_dir / "metadata").glob("*"))


@pytest.mark.django_db
def test_import_registers_ctl_and_trt_files_as_one_dataset_through_a_manifest(tiny_world, tmp_path, data_dir):
    from conversion.datasets import load_metadata
    from conversion.models import Dataset

    ctl, trt = _split_world(tiny_world, tmp_path)
    out = _import(ctl, trt, world=tiny_world)
    assert f"{ctl}: 162 profiles x 200 genes." in out and f"{trt}: 252 profiles x 200 genes." in out
    assert out.count("All 100 landmark genes of gene_info") == 2 and out.count("Values are finite and log2-scale") == 2
    assert "2 files make one dataset of 414 profiles x 200 genes" in out
    assert "Dataset 'split' registered: 414 profiles x 200 genes." in out
    ds = Dataset.objects.get(name="split")
    assert ds.path == "datasets/split.l1kset.json" and ds.file == data_dir / "datasets" / "split.l1kset.json"
    recorded = json.loads(ds.file.read_text())
    assert [m["path"] for m in recorded["members"]] == [str(ctl.resolve()), str(trt.resolve())]
    with GctxReader(ctl) as c, GctxReader(trt) as t:
        expected_ids = list(c.col_ids) + list(t.col_ids)
    meta = load_metadata(ds)
    assert list(meta["inst_id"]) == expected_ids
    assert set(meta["pert_type"][:162]) == {"ctl_vehicle", "ctl_vector"} and set(meta["pert_type"][162:]) == {"trt_cp", "trt_xpr"}
    # Importing the same files again changes nothing.
    _import(ctl, trt, world=tiny_world)
    assert Dataset.objects.count() == 1 and json.loads(ds.file.read_text()) == recorded


@pytest.mark.django_db
def test_vehicle_signatures_of_a_split_dataset_take_their_controls_from_the_ctl_file(tiny_world, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    from conversion.formats.l1000 import batch_of_plate, row_entrez_ids
    from signatures.models import Release, Signature
    from signatures.store import open_store

    ctl, trt = _split_world(tiny_world, tmp_path)
    _import(ctl, trt, world=tiny_world)
    call_command("compute_signatures", "split", "--inline", "--controls", "vehicle", "--release", "r1", stdout=StringIO(), stderr=StringIO())
    release = Release.objects.get(name="r1")
    inst = pd.read_csv(tiny_world["inst_info"], sep="\t")
    inst["batch"] = inst["rna_plate"].map(batch_of_plate)
    checked = 0
    with GctxReader(ctl) as c, GctxReader(trt) as t, open_store(release.store_dir) as store:
        ctl_pos = pd.Series(np.arange(len(c.col_ids)), index=c.col_ids)
        trt_pos = pd.Series(np.arange(len(t.col_ids)), index=t.col_ids)
        # The store's genes are the dataset's rows, here in the same order.
        np.testing.assert_array_equal(store.gene_entrez_ids, row_entrez_ids(c))
        for pert_type in ("chemical", "crispr"):
            sig = Signature.objects.filter(release=release, pert_type=pert_type).order_by("column").first()
            in_batch = inst[inst["batch"] == sig.batch]
            treated = in_batch[(in_batch["pert_id"] == sig.pert_id) & (in_batch["pert_time"] == sig.time)]
            if sig.dose is not None:
                treated = treated[np.isclose(treated["pert_dose"].astype(float), sig.dose)]
            vehicles = in_batch[in_batch["pert_type"].isin(["ctl_vehicle", "ctl_vector"])]
            assert (sig.controls, sig.n_replicates, sig.n_controls) == ("vehicle", len(treated), len(vehicles))
            assert len(vehicles) > 0 and set(vehicles["inst_id"]) <= set(c.col_ids) and set(treated["inst_id"]) <= set(t.col_ids)
            # Independent of MultiReader: each side read straight from its own file.
            treated_mean = t.read(cols=trt_pos[treated["inst_id"]].to_numpy()).astype(np.float64).mean(axis=0)
            vehicle_mean = c.read(cols=ctl_pos[vehicles["inst_id"]].to_numpy()).astype(np.float64).mean(axis=0)
            _, logfc = store.read_signature(sig.column)
            np.testing.assert_allclose(logfc, treated_mean - vehicle_mean, atol=1e-5)
            checked += 1
    assert checked == 2


@pytest.mark.django_db
def test_import_refuses_members_with_other_genes_and_registers_nothing(tiny_world, tmp_path, data_dir):
    from django.core.management import CommandError

    with GctxReader(tiny_world["l1000"]) as r:
        n = len(r.row_ids)
        first, second = str(r.row_ids[0]), str(r.row_ids[1])
    ctl, trt = _split_world(tiny_world, tmp_path, trt_rows=[1, 0, *range(2, n)])
    with pytest.raises(CommandError, match=rf"level3_trt\.gctx to have the rows of .*level3_ctl\.gctx in the same order, found row 0 is '{second}' where .*level3_ctl\.gctx has '{first}'\.$"):
        _import(ctl, trt, world=tiny_world)
    _nothing_registered(data_dir)


@pytest.mark.django_db
def test_import_refuses_a_column_in_both_files_and_registers_nothing(tiny_world, tmp_path, data_dir):
    from django.core.management import CommandError

    with GctxReader(tiny_world["l1000"]) as r:
        a_control = next(str(i) for i, t in zip(r.col_ids, r.col_meta["pert_type"]) if str(t).startswith("ctl_"))
    ctl, trt = _split_world(tiny_world, tmp_path, trt_extra_col=a_control)
    with pytest.raises(CommandError, match=rf"found '{a_control}' in both .*level3_ctl\.gctx and .*level3_trt\.gctx\.$"):
        _import(ctl, trt, world=tiny_world)
    _nothing_registered(data_dir)


@pytest.mark.django_db
def test_import_refuses_a_bad_member_and_registers_nothing(tiny_world, tmp_path, data_dir):
    from django.core.management import CommandError

    ctl, trt = _split_world(tiny_world, tmp_path)
    with GctxReader(trt) as r:
        values, row_ids, col_ids, row_meta = r.read(), r.row_ids, r.col_ids, r.row_meta
    values[3, 5] = np.nan
    write_gctx(trt, values, row_ids, col_ids, row_meta=row_meta)
    with pytest.raises(CommandError, match=r"level3_trt\.gctx: expected finite expression values, found nan for sample 3"):
        _import(ctl, trt, world=tiny_world)
    _nothing_registered(data_dir)


@pytest.mark.django_db
def test_several_files_need_a_name(tiny_world, tmp_path):
    from django.core.management import CommandError, call_command

    ctl, trt = _split_world(tiny_world, tmp_path)
    with pytest.raises(CommandError, match=r"^2 Level 3 files make one dataset: name it with --name\.$"):
        call_command("import_l1000", str(ctl), str(trt))


@pytest.mark.django_db
def test_a_member_modified_after_import_stops_signatures_naming_the_file(tiny_world, tmp_path):
    from io import StringIO

    from django.core.management import CommandError, call_command

    from signatures.models import Release, Signature

    ctl, trt = _split_world(tiny_world, tmp_path)
    _import(ctl, trt, world=tiny_world)
    _touch_later(trt)
    with pytest.raises(CommandError, match=r"member .*level3_trt\.gctx changed since the manifest was written"):
        call_command("compute_signatures", "split", "--inline", "--controls", "vehicle", "--release", "r1", stdout=StringIO(), stderr=StringIO())
    assert not Signature.objects.exists() and not Release.objects.filter(status="complete").exists()
    # The failed release r1 was built from 'split', so the changed file is imported under a new name.
    _import(ctl, trt, world=tiny_world, name="split-again")
    call_command("compute_signatures", "split-again", "--inline", "--controls", "vehicle", "--release", "r2", stdout=StringIO(), stderr=StringIO())
    assert Release.objects.get(name="r2").status == "complete"


def _touch_later(path):
    """Rewrite the file in place, same bytes, a later modification time (as a re-download would)."""
    before = path.stat().st_mtime_ns
    path.write_bytes(path.read_bytes())
    os.utime(path, ns=(before + 10**9, before + 10**9))


@pytest.mark.django_db
def test_a_manifest_registered_as_a_file_may_name_only_files_the_application_may_read(tmp_path, data_dir, settings):
    from conversion.datasets import register_dataset
    from conversion.models import Dataset

    outside = tmp_path.parent / f"{tmp_path.name}-outside"  # neither DATA_DIR nor an import root
    outside.mkdir()
    settings.IMPORT_ROOTS = []
    inside = _member(data_dir / "ctl.gctx", ["C0"], seed=1)
    elsewhere = _member(outside / "trt.gctx", ["T0"], seed=2)
    manifest = _manifest(data_dir / "x.l1kset.json", [inside, elsewhere])
    with pytest.raises(FormatError, match=r"x\.l1kset\.json: .*trt\.gctx is not a file the application may read"):
        register_dataset("x", manifest, kind="l1000", metadata=None)
    assert not Dataset.objects.exists()
    _manifest(manifest, [inside])
    assert register_dataset("x", manifest, kind="l1000", metadata=None).n_profiles == 1


def test_a_relative_member_resolves_while_the_manifests_folder_does_not_exist_yet(tmp_path):
    from conversion.formats.multi import MultiReader

    member = tmp_path / "world" / "level3.gctx"
    member.parent.mkdir()
    member.write_bytes(b"x")
    manifest = tmp_path / "datasets" / "d.l1kset.json"  # datasets/ is created only when the manifest is written
    resolved = MultiReader.resolve_member(manifest, {"path": "../world/level3.gctx"})
    assert resolved == member.resolve() and resolved.exists()
