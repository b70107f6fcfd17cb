import logging

import numpy as np
import pytest
import torch

from conversion.translator.device import resolve_device

from .helpers import toy_bundle, toy_profiles

needs_no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU fallback; this machine has a CUDA GPU")
needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="checks a real CUDA run; this machine has no CUDA GPU")


@needs_no_gpu
def test_cuda_without_a_gpu_runs_on_the_cpu_and_says_so(caplog):
    with caplog.at_level(logging.WARNING):
        assert resolve_device("cuda") == torch.device("cpu")
    assert "Device cuda was requested but no CUDA GPU is available; running on the CPU." in caplog.text
    assert resolve_device("auto") == torch.device("cpu")


@needs_no_gpu
def test_a_cuda_request_without_a_gpu_predicts_what_an_explicit_cpu_run_predicts(caplog):
    x = toy_profiles(20, 12)
    cpu = toy_bundle().to("cpu").predict(x)
    with caplog.at_level(logging.WARNING):
        bundle = toy_bundle().to("cuda")
    assert bundle.device == torch.device("cpu")
    assert "no CUDA GPU is available" in caplog.text
    np.testing.assert_array_equal(bundle.predict(x), cpu)


@needs_gpu
def test_a_cuda_request_with_a_gpu_runs_on_cuda_and_matches_the_cpu_within_bf16_tolerance():
    x = toy_profiles(20, 12)
    cpu = toy_bundle().to("cpu").predict(x)
    bundle = toy_bundle().to("cuda")
    assert bundle.device.type == "cuda"
    assert next(bundle.network.parameters()).device.type == "cuda"
    # On CUDA the network runs under bf16 autocast (8 significant bits), hence the tolerance.
    np.testing.assert_allclose(bundle.predict(x), cpu, rtol=2e-2, atol=5e-2)


def test_unknown_device_names_are_refused():
    with pytest.raises(ValueError, match="Unknown device 'tpu'"):
        resolve_device("tpu")
