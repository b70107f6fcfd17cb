import numpy as np
import pytest
import torch

from conversion.translator.bundle import load_bundle

from .helpers import toy_bundle, toy_profiles


def test_saved_bundle_loads_with_the_same_genes_config_and_predictions(tmp_path):
    bundle = toy_bundle()
    path = bundle.save(tmp_path / "model.pt")
    loaded = load_bundle(path)
    x = toy_profiles(9, bundle.n_in)
    np.testing.assert_array_equal(loaded.predict(x), bundle.predict(x))
    assert loaded.input_entrez_ids == bundle.input_entrez_ids
    assert loaded.output_symbols == bundle.output_symbols
    assert loaded.config == bundle.config
    assert loaded.version == "test-1"
    np.testing.assert_array_equal(loaded.quantile_reference, bundle.quantile_reference)
    assert loaded.versions["torch"] == torch.__version__


def test_saving_leaves_no_temporary_file(tmp_path):
    (tmp_path / "models").mkdir()
    toy_bundle().save(tmp_path / "models" / "model.pt")
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["model.pt"]


def test_float16_prediction_is_within_half_precision_of_float32():
    bundle = toy_bundle()
    x = toy_profiles(5, bundle.n_in)
    full = bundle.predict(x)
    half = bundle.predict(x, dtype=np.float16)
    assert half.dtype == np.float16
    # float16 keeps 11 significant bits: relative error below 2**-11 plus rounding of tiny values.
    np.testing.assert_allclose(half.astype(np.float32), full, rtol=1e-3, atol=1e-3)


def test_batch_size_does_not_change_predictions():
    bundle = toy_bundle()
    x = toy_profiles(33, bundle.n_in)
    np.testing.assert_allclose(bundle.predict(x, batch_size=4), bundle.predict(x, batch_size=1000), rtol=1e-5, atol=1e-5)


def test_input_with_the_wrong_number_of_genes_is_refused():
    bundle = toy_bundle(n_in=12)
    with pytest.raises(ValueError, match=r"must be \(profiles, 12\).*has shape \(3, 11\)"):
        bundle.predict(toy_profiles(3, 11))
