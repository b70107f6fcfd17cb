"""Small in-memory worlds for the translator's pure tests (no files, no database)."""

import numpy as np

from conversion.translator.bundle import Bundle
from conversion.translator.config import get_config
from conversion.translator.networks import Extrapolator, Generator


def toy_bundle(n_in: int = 12, n_out: int = 40, seed: int = 0, *, size: str = "tiny", first_id: int = 1000) -> Bundle:
    """An untrained bundle of network size `size` with random weights; gene ids first_id, first_id + 1, ..."""
    import torch

    torch.manual_seed(seed)
    config = get_config(size).with_genes(n_in, n_out)
    ids = [str(first_id + i) for i in range(n_out)]
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


def toy_l1000_file(path, bundle: Bundle, *, n_samples: int = 25, extra_genes: int = 8, seed: int = 0, drop: str | None = None):
    """A Level 3-like GCTX keyed by probe ids with `pr_gene_id` row metadata, genes shuffled.

    Returns (path, landmark_matrix (n_samples, n_in) in the bundle's input order).
    """
    import pandas as pd

    from conversion.formats.gctx import write_gctx

    rng = np.random.default_rng(seed)
    entrez = [g for g in bundle.input_entrez_ids if g != drop] + [str(90_000 + i) for i in range(extra_genes)]
    order = rng.permutation(len(entrez))
    entrez = [entrez[i] for i in order]
    matrix = rng.uniform(2, 14, size=(n_samples, len(entrez))).astype(np.float32)
    probes = [f"{e}_at" for e in entrez]
    row_meta = pd.DataFrame({"pr_gene_id": np.asarray(entrez, dtype=np.int64)}, index=probes)
    col_ids = [f"S{i:03d}" for i in range(n_samples)]
    col_meta = pd.DataFrame({"cell_id": [f"C{i % 3}" for i in range(n_samples)]}, index=col_ids)
    write_gctx(path, matrix, probes, col_ids, row_meta=row_meta, col_meta=col_meta)
    position = {e: i for i, e in enumerate(entrez)}
    landmarks = matrix[:, [position[g] for g in bundle.input_entrez_ids]] if drop is None else None
    return path, landmarks


def registered_pair(data_dir, *, n_samples: int = 25, drop: str | None = None, name: str = "toy-l1000"):
    """A registered toy translator (bundle file under DATA_DIR) and a registered toy L1000 dataset.

    Returns (translator_row, dataset_row, bundle, landmark_matrix).
    """
    from conversion.datasets import register_dataset
    from conversion.models import TranslatorModel

    bundle = toy_bundle()
    (data_dir / "models").mkdir(exist_ok=True)
    bundle.save(data_dir / "models" / "toy.pt")
    translator = TranslatorModel.register_bundle(data_dir / "models" / "toy.pt", name="toy", activate=True)
    (data_dir / "l1000").mkdir(exist_ok=True)
    path, landmarks = toy_l1000_file(data_dir / "l1000" / f"{name}.gctx", bundle, n_samples=n_samples, drop=drop)
    dataset = register_dataset(name, path, kind="l1000", metadata=None)
    return translator, dataset, bundle, landmarks


class Killed(Exception):
    """What kill_after raises: a conversion stopped as a killed worker would stop it."""


def kill_after(n):
    """A conversion progress callback that stops the run once n chunks are done."""

    def progress(done, total):
        if done >= n:
            raise Killed

    return progress
