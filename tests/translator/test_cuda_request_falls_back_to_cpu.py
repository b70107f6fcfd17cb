import logging

import numpy as np
import pytest
import torch

from conversion.translator.device import resolve_device

from .helpers import toy_bundle, toy_profiles


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fallback on a machine without a GPU")
def test_cuda_without_a_gpu_runs_on_the_cpu_and_says_so(caplog):
    with caplog.at_level(logging.WARNING):
        assert resolve_device("cuda") == torch.device("cpu")
    assert "no CUDA GPU is available" in caplog.text
    assert resolve_device("auto") == torch.device("cpu")


def test_unknown_device_names_are_refused():
    with pytest.raises(ValueError, match="Unknown device 'tpu'"):
        resolve_device("tpu")


def test_predictions_on_auto_device_match_cpu_within_bf16_tolerance():
    bundle = toy_bundle()
    x = toy_profiles(20, bundle.n_in)
    cpu = bundle.predict(x)
    auto = bundle.to("auto").predict(x)
    # On a GPU the network runs under bf16 autocast (8 significant bits); on the CPU the two are identical.
    np.testing.assert_allclose(auto, cpu, rtol=2e-2, atol=5e-2)
