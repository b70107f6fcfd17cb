"""Which torch device to run on: one rule for training, conversion and the index build.

Imports torch only.
"""

from __future__ import annotations

import logging

import torch

logger = logging.getLogger(__name__)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """'auto' -> cuda if present else cpu; 'cuda' without a GPU falls back to cpu with a warning."""
    if isinstance(device, torch.device):
        return device
    if device not in ("auto", "cpu", "cuda") and not device.startswith("cuda:"):
        raise ValueError(f"Unknown device {device!r}: expected cpu, cuda or auto.")
    if device == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda" if device == "auto" else device)
    if device != "auto":
        logger.warning("Device %s was requested but no CUDA GPU is available; running on the CPU.", device)
    return torch.device("cpu")
