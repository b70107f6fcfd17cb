"""An interrupted training run resumes from its checkpoint to the weights of an uninterrupted one.

A checkpoint resumes only the run it came from: the same configuration, except
that the epoch budget may grow (a run trained for 2 epochs goes on to 4); a
changed setting or a budget below what was done is refused with a sentence
that names it.
"""

from dataclasses import replace

import numpy as np
import pytest
import torch

from conversion.translator.config import get_config
from conversion.translator.train import train_cyclegan, train_extrapolator

from .helpers import toy_profiles


def _same_weights(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_cyclegan_trained_two_epochs_then_resumed_to_four_equals_an_uninterrupted_run(tmp_path):
    config = replace(get_config("tiny").with_genes(10, 30).cyclegan, epochs=4, batch_size=16)
    x, y = toy_profiles(40, 10, seed=1), toy_profiles(50, 10, seed=2)
    straight, _, _ = train_cyclegan(x, y, config, device="cpu")
    ckpt = tmp_path / "step1.ckpt"
    train_cyclegan(x, y, replace(config, epochs=2), device="cpu", checkpoint=ckpt, checkpoint_every=0)
    resumed, _, history = train_cyclegan(x, y, config, device="cpu", checkpoint=ckpt, checkpoint_every=0)
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    assert _same_weights(straight, resumed)
    assert torch.load(ckpt, weights_only=True)["config"]["epochs"] == 4  # the checkpoint now records the longer run


def test_extrapolator_trained_two_epochs_then_resumed_to_four_equals_an_uninterrupted_run(tmp_path):
    config = replace(get_config("tiny").with_genes(10, 30).extrapolator, max_epochs=4, batch_size=16, patience=10)
    y = toy_profiles(60, 30, seed=3)
    straight, _ = train_extrapolator(y[:, :10], y, config, device="cpu")
    ckpt = tmp_path / "step2.ckpt"
    train_extrapolator(y[:, :10], y, replace(config, max_epochs=2), device="cpu", checkpoint=ckpt, checkpoint_every=0)
    resumed, history = train_extrapolator(y[:, :10], y, config, device="cpu", checkpoint=ckpt, checkpoint_every=0)
    assert len(history) == 4
    assert _same_weights(straight, resumed)


def test_a_checkpoint_from_another_configuration_is_refused_naming_what_differs(tmp_path):
    config = replace(get_config("tiny").with_genes(10, 30).cyclegan, epochs=1, batch_size=16)
    x = toy_profiles(20, 10)
    train_cyclegan(x, x, config, device="cpu", checkpoint=tmp_path / "c.ckpt")
    with pytest.raises(ValueError, match=r"different step-1 configuration \(lr differ\)"):
        train_cyclegan(x, x, replace(config, lr=1e-3, epochs=3), device="cpu", checkpoint=tmp_path / "c.ckpt")


def test_a_budget_below_the_epochs_already_trained_is_refused(tmp_path):
    config = replace(get_config("tiny").with_genes(10, 30).extrapolator, max_epochs=3, batch_size=16, patience=10)
    y = toy_profiles(30, 30, seed=4)
    ckpt = tmp_path / "step2.ckpt"
    train_extrapolator(y[:, :10], y, config, device="cpu", checkpoint=ckpt, checkpoint_every=0)
    with pytest.raises(ValueError, match="trained step 2 for 3 epochs, more than the 2 asked for"):
        train_extrapolator(y[:, :10], y, replace(config, max_epochs=2), device="cpu", checkpoint=ckpt)


def test_a_checkpoint_from_before_the_loss_was_selectable_resumes_only_as_l1(tmp_path):
    config = replace(get_config("tiny").with_genes(10, 30).cyclegan, epochs=1, batch_size=16, validation_fraction=0.0, reconstruction_loss="l1")
    x = toy_profiles(20, 10)
    ckpt = tmp_path / "c.ckpt"
    train_cyclegan(x, x, config, device="cpu", checkpoint=ckpt)
    state = torch.load(ckpt, weights_only=True)
    del state["config"]["reconstruction_loss"], state["config"]["validation_fraction"]  # as written before they existed
    torch.save(state, ckpt)
    with pytest.raises(ValueError, match=r"different step-1 configuration \(reconstruction_loss differ\)"):
        train_cyclegan(x, x, replace(config, reconstruction_loss="mse", epochs=2), device="cpu", checkpoint=ckpt)
    _, _, history = train_cyclegan(x, x, replace(config, epochs=2), device="cpu", checkpoint=ckpt)
    assert [h["epoch"] for h in history] == [1, 2]


def test_step1_returns_the_g_of_its_best_scored_epoch(tmp_path):
    config = replace(get_config("tiny").with_genes(10, 30).cyclegan, epochs=6, batch_size=16, validation_fraction=0.2)
    x, y = toy_profiles(120, 10, seed=5), toy_profiles(120, 10, seed=6) * 1.5 + 1.0
    selected, _, history = train_cyclegan(x, y, config, device="cpu")
    distances = [h["val_distance"] for h in history]
    assert [h["epoch"] for h in history] == list(range(7))  # epoch 0 (before training) is scored too
    best = int(np.argmin(distances))
    assert history[-1]["best_epoch"] == best
    again, _, _ = train_cyclegan(x, y, replace(config, epochs=best), device="cpu")
    assert _same_weights(selected, again)
