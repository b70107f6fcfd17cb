import numpy as np
import pytest

from conversion.formats.gctx import GctxReader
from conversion.translator.infer import convert_file, parts_dir

from .helpers import Killed, kill_after, toy_bundle, toy_l1000_file


def test_an_interrupted_conversion_resumes_without_redoing_or_losing_profiles(tmp_path):
    bundle = toy_bundle()
    src, landmarks = toy_l1000_file(tmp_path / "l1000.gctx", bundle, n_samples=31)
    out = tmp_path / "out.gctx"
    with pytest.raises(Killed):
        convert_file(bundle, src, out, chunk_size=5, device="cpu", progress=kill_after(3))
    assert not out.exists()
    assert len(list(parts_dir(out).glob("chunk_*.npy"))) == 3

    seen = []
    summary = convert_file(bundle, src, out, chunk_size=5, device="cpu", progress=lambda d, t: seen.append((d, t)))
    assert summary["chunks_computed"] == 7 - 3
    assert seen == [(3, 7), (4, 7), (5, 7), (6, 7), (7, 7)]
    with GctxReader(out) as reader:
        assert len(reader.col_ids) == 31 and len(set(reader.col_ids)) == 31
        np.testing.assert_allclose(reader.read(), bundle.predict(landmarks), rtol=1e-5, atol=1e-5)


def test_parts_from_a_different_chunking_are_discarded_not_mixed(tmp_path):
    bundle = toy_bundle()
    src, landmarks = toy_l1000_file(tmp_path / "l1000.gctx", bundle, n_samples=20)
    out = tmp_path / "out.gctx"
    with pytest.raises(Killed):
        convert_file(bundle, src, out, chunk_size=4, device="cpu", progress=kill_after(2))
    summary = convert_file(bundle, src, out, chunk_size=6, device="cpu")
    assert summary["chunks_computed"] == 4
    with GctxReader(out) as reader:
        np.testing.assert_allclose(reader.read(), bundle.predict(landmarks), rtol=1e-5, atol=1e-5)
