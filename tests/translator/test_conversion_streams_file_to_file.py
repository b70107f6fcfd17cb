import numpy as np
import pytest

from conversion.formats import MissingGenesError
from conversion.formats.gctx import GctxReader
from conversion.translator.infer import convert_file, parts_dir

from .helpers import toy_bundle, toy_l1000_file


def test_converted_file_holds_the_bundle_predictions_for_every_sample(tmp_path):
    bundle = toy_bundle()
    src, landmarks = toy_l1000_file(tmp_path / "l1000.gctx", bundle)
    summary = convert_file(bundle, src, tmp_path / "out.gctx", chunk_size=7, device="cpu")
    assert summary["n_profiles"] == 25 and summary["chunks"] == 4 and summary["chunks_computed"] == 4
    with GctxReader(tmp_path / "out.gctx") as out:
        assert list(out.row_ids) == bundle.output_entrez_ids
        assert list(out.row_meta["pr_gene_symbol"]) == bundle.output_symbols
        assert list(out.col_ids) == [f"S{i:03d}" for i in range(25)]
        assert list(out.col_meta["cell_id"]) == [f"C{i % 3}" for i in range(25)]
        # Batching and chunking change only the summation order: float32 tolerance.
        np.testing.assert_allclose(out.read(), bundle.predict(landmarks), rtol=1e-5, atol=1e-5)
    assert not parts_dir(tmp_path / "out.gctx").exists()


def test_float16_output_is_written_as_float16_close_to_float32(tmp_path):
    bundle = toy_bundle()
    src, landmarks = toy_l1000_file(tmp_path / "l1000.gctx", bundle)
    convert_file(bundle, src, tmp_path / "half.gctx", chunk_size=10, device="cpu", float16=True)
    with GctxReader(tmp_path / "half.gctx") as out:
        assert out.dtype == np.float16
        np.testing.assert_allclose(out.read(), bundle.predict(landmarks), rtol=1e-3, atol=1e-3)


def test_missing_landmarks_are_named_and_no_output_is_written(tmp_path):
    bundle = toy_bundle()
    src, _ = toy_l1000_file(tmp_path / "l1000.gctx", bundle, drop=bundle.input_entrez_ids[3])
    with pytest.raises(MissingGenesError, match=f"found 11: missing Entrez ids {bundle.input_entrez_ids[3]}"):
        convert_file(bundle, src, tmp_path / "out.gctx", chunk_size=7, device="cpu")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "l1000.gctx"]


def test_a_file_without_profiles_is_refused_with_a_sentence(tmp_path):
    from conversion.formats.gctx import write_gctx

    bundle = toy_bundle()
    write_gctx(tmp_path / "empty.gctx", np.zeros((0, bundle.n_in), dtype=np.float32), bundle.input_entrez_ids, [])
    with pytest.raises(ValueError, match="expected at least one profile"):
        convert_file(bundle, tmp_path / "empty.gctx", tmp_path / "out.gctx", chunk_size=7, device="cpu")
    assert not (tmp_path / "out.gctx").exists()
