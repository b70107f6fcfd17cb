"""Small in-memory worlds for the translator's pure tests (no files, no database)."""

import numpy as np

from conversion.translator.bundle import Bundle
from conversion.translator.config import get_config
from conversion.translator.networks import Extrapolator, Generator


def toy_bundle(n_in: int = 12, n_out: int = 40, seed: int = 0) -> Bundle:
    """An untrained tiny-size bundle with random weights and made-up gene ids."""
    import torch

    torch.manual_seed(seed)
    config = get_config("tiny").with_genes(n_in, n_out)
    ids = [str(1000 + i) for i in range(n_out)]
    return Bundle(
        config=config,
        G=Generator(config.cyclegan).eval(),
        extrapolator=Extrapolator(config.extrapolator).eval(),
        input_entrez_ids=ids[:n_in],
        input_symbols=[f"G{i}" for i in range(n_in)],
        output_entrez_ids=ids,
        output_symbols=[f"G{i}" for i in range(n_out)],
        quantile_reference=np.sort(np.random.default_rng(seed).uniform(0, 12, n_out)).astype(np.float32),
        baselines={"ratio_scale": np.ones(n_in), "linear": np.zeros((n_in + 1, n_out)), "gene_mean": np.ones(n_out)},
        version="test-1",
    )


def toy_profiles(n: int, n_genes: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 14, size=(n, n_genes)).astype(np.float32)
