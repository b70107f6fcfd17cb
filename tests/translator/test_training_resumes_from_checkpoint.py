from dataclasses import replace

import torch

from conversion.translator.config import get_config
from conversion.translator.train import train_cyclegan, train_extrapolator

from .helpers import toy_profiles


def _same_weights(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_cyclegan_interrupted_after_two_epochs_and_resumed_equals_an_uninterrupted_run(tmp_path):
    config = replace(get_config("tiny").with_genes(10, 30).cyclegan, epochs=4, batch_size=16)
    x, y = toy_profiles(40, 10, seed=1), toy_profiles(50, 10, seed=2)
    straight, _, _ = train_cyclegan(x, y, config, device="cpu")
    ckpt = tmp_path / "step1.ckpt"
    train_cyclegan(x, y, replace(config, epochs=2), device="cpu", checkpoint=ckpt, checkpoint_every=0)
    # The checkpoint records its config; resuming with more epochs must use the same one.
    state = torch.load(ckpt, weights_only=True)
    state["config"]["epochs"] = 4
    torch.save(state, ckpt)
    resumed, _, history = train_cyclegan(x, y, config, device="cpu", checkpoint=ckpt, checkpoint_every=0)
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    assert _same_weights(straight, resumed)


def test_extrapolator_resumes_to_the_same_weights(tmp_path):
    config = replace(get_config("tiny").with_genes(10, 30).extrapolator, max_epochs=4, batch_size=16, patience=10)
    y = toy_profiles(60, 30, seed=3)
    straight, _ = train_extrapolator(y[:, :10], y, config, device="cpu")
    ckpt = tmp_path / "step2.ckpt"
    train_extrapolator(y[:, :10], y, replace(config, max_epochs=2), device="cpu", checkpoint=ckpt, checkpoint_every=0)
    state = torch.load(ckpt, weights_only=True)
    state["config"]["max_epochs"] = 4
    torch.save(state, ckpt)
    resumed, history = train_extrapolator(y[:, :10], y, config, device="cpu", checkpoint=ckpt, checkpoint_every=0)
    assert len(history) == 4
    assert _same_weights(straight, resumed)


def test_a_checkpoint_from_another_configuration_is_refused(tmp_path):
    import pytest

    config = replace(get_config("tiny").with_genes(10, 30).cyclegan, epochs=1, batch_size=16)
    x = toy_profiles(20, 10)
    train_cyclegan(x, x, config, device="cpu", checkpoint=tmp_path / "c.ckpt")
    with pytest.raises(ValueError, match="different step-1 configuration"):
        train_cyclegan(x, x, replace(config, lr=1e-3), device="cpu", checkpoint=tmp_path / "c.ckpt")
