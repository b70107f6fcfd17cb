"""convert_file reads a dataset manifest like one file, and never resumes from parts of a member since replaced."""

import os

import numpy as np
import pytest

from conversion.formats import FormatError
from conversion.formats.gctx import GctxReader, write_gctx
from conversion.formats.multi import manifest_for, manifest_text
from conversion.translator.infer import convert_file, parts_dir
from tests.translator.helpers import Killed, kill_after, toy_bundle, toy_l1000_file


def _split(src, tmp_path, at):
    """src's first `at` columns in one member file, the rest in another, and their manifest."""
    with GctxReader(src) as r:
        members = []
        for name, cols in (("ctl.gctx", np.arange(at)), ("trt.gctx", np.arange(at, r.shape[0]))):
            members.append(write_gctx(tmp_path / name, r.read(cols=cols), r.row_ids, r.col_ids[cols], row_meta=r.row_meta, col_meta=r.col_meta.iloc[cols]))
    manifest = tmp_path / "x.l1kset.json"
    _write_manifest(manifest, members)
    return members, manifest


def _write_manifest(path, members):
    path.write_text(manifest_text(manifest_for(members, manifest_path=path)))


def test_converting_a_manifest_equals_converting_the_concatenated_file(tmp_path):
    bundle = toy_bundle()
    src, _ = toy_l1000_file(tmp_path / "l1000.gctx", bundle, n_samples=25)
    _, manifest = _split(src, tmp_path, at=11)
    convert_file(bundle, src, tmp_path / "one.gctx", chunk_size=4, device="cpu")
    summary = convert_file(bundle, manifest, tmp_path / "two.gctx", chunk_size=4, device="cpu")  # chunk 8..11 spans the members
    assert summary["n_profiles"] == 25 and summary["chunks"] == 7
    with GctxReader(tmp_path / "one.gctx") as one, GctxReader(tmp_path / "two.gctx") as two:
        assert list(two.col_ids) == list(one.col_ids)
        assert list(two.col_meta["cell_id"]) == list(one.col_meta["cell_id"])
        np.testing.assert_allclose(two.read(), one.read(), rtol=1e-6, atol=1e-6)


def test_a_member_replaced_during_an_interrupted_conversion_is_not_resumed_from_old_parts(tmp_path):
    bundle = toy_bundle()
    src, _ = toy_l1000_file(tmp_path / "l1000.gctx", bundle, n_samples=20)
    (ctl, trt), manifest = _split(src, tmp_path, at=8)
    out = tmp_path / "out.gctx"
    with pytest.raises(Killed):
        convert_file(bundle, manifest, out, chunk_size=5, device="cpu", progress=kill_after(2))
    assert len(list(parts_dir(out).glob("chunk_*.npy"))) == 2

    # The ctl member is replaced by other values of the same shape (a new download).
    with GctxReader(ctl) as r:
        values, row_ids, col_ids, row_meta, col_meta = r.read() + 1.0, r.row_ids, r.col_ids, r.row_meta, r.col_meta
    before = ctl.stat().st_mtime_ns
    write_gctx(ctl, values, row_ids, col_ids, row_meta=row_meta, col_meta=col_meta)
    os.utime(ctl, ns=(before + 10**9, before + 10**9))
    with pytest.raises(FormatError, match=r"member .*ctl\.gctx changed since the manifest was written"):
        convert_file(bundle, manifest, out, chunk_size=5, device="cpu")

    # Written again (as import_l1000 would), the manifest is converted afresh: no part of the old file is kept,
    # even where the new manifest has the old one's size and modification time (written within one clock tick).
    text, old = manifest.read_text(), manifest.stat()
    _write_manifest(manifest, [ctl, trt])
    os.utime(manifest, ns=(old.st_atime_ns, old.st_mtime_ns))
    assert manifest.read_text() != text and manifest.stat().st_size == old.st_size
    summary = convert_file(bundle, manifest, out, chunk_size=5, device="cpu")
    assert summary["chunks_computed"] == 4
    with GctxReader(out) as converted, GctxReader(ctl) as c, GctxReader(trt) as t:
        rows = [list(c.row_meta["pr_gene_id"].astype(str)).index(g) for g in bundle.input_entrez_ids]
        landmarks = np.concatenate([c.read(rows=rows), t.read(rows=rows)])
        np.testing.assert_allclose(converted.read(), bundle.predict(landmarks), rtol=1e-5, atol=1e-5)
