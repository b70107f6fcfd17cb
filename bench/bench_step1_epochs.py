"""Step 1 epoch by epoch: paired accuracy of G against the unpaired criteria that could choose an epoch.

Trains step 1 (the CycleGAN) of a synthetic world one epoch at a time (resuming
its checkpoint, without the held-out selection, so each epoch's own G is
scored) and prints, per epoch: the paired RMSE and sample-wise PCC of G(x)
against the world's paired RNA-seq landmarks (which training never sees), and
two unpaired distances between G(x) and the training RNA-seq: the mean
per-gene Wasserstein-1 distance of standardised values, and the sliced
Wasserstein distance conversion.translator.train.DistributionDistance uses to
select the epoch. The ratio-scaling baseline is printed first.

    .venv/bin/python manage.py make_demo_data /tmp/w0 --size demo --seed 0
    .venv/bin/python bench/bench_step1_epochs.py /tmp/w0 --size small --epochs 25 [--lambda-identity 0] [--reconstruction-loss l1]
"""

import argparse
import json
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "l1kweb.settings")

from conversion.formats.gtex import read_paired  # noqa: E402
from conversion.formats.l1000 import landmark_positions  # noqa: E402
from conversion.formats.ncbi import read_gene_map  # noqa: E402
from conversion.normalize import QuantileReference  # noqa: E402
from conversion.translator.config import configure  # noqa: E402
from conversion.translator.data import load_training_data  # noqa: E402
from conversion.translator.train import DistributionDistance, train_cyclegan  # noqa: E402


def marginal_w1(a: np.ndarray, b: np.ndarray, mean: np.ndarray, std: np.ndarray) -> float:
    levels = np.linspace(0, 1, 101)
    qa = np.quantile((a - mean) / std, levels, axis=0)
    qb = np.quantile((b - mean) / std, levels, axis=0)
    return float(np.abs(qa - qb).mean())


def paired(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    rmse = np.sqrt(((pred - truth) ** 2).mean(axis=1))
    a, b = pred - pred.mean(1, keepdims=True), truth - truth.mean(1, keepdims=True)
    pcc = (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1))
    return float(np.median(rmse)), float(np.median(pcc))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("world", help="A make_demo_data directory (GEO layout).")
    parser.add_argument("--size", default="small")
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--lambda-identity", type=float)
    parser.add_argument("--reconstruction-loss", choices=["mse", "l1"])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    world = json.loads((Path(args.world) / "manifest.json").read_text())
    data = load_training_data(world["l1000"], world["archs4"], read_gene_map(world["ncbi_gene_info"]), output_entrez_ids=world["output_entrez_ids"])
    pairs = read_paired(world["gtex_l1000"], world["gtex_rnaseq"])
    x_paired = pairs.l1000[:, landmark_positions(pairs.l1000_gene_ids, data.landmark_entrez_ids)]
    truth = QuantileReference(data.reference).transform(pairs.rnaseq[:, landmark_positions(pairs.rnaseq_gene_ids, data.output_entrez_ids)])[:, data.landmark_columns]
    X, Y = data.l1000, data.rnaseq_landmarks
    mean, std = Y.mean(0), Y.std(0) + 1e-3
    sliced = DistributionDistance(torch.from_numpy(Y))
    ratio = Y.mean(0) / X.mean(0)
    print(f"ratio scaling: paired RMSE {paired(x_paired * ratio, truth)[0]:.3f}, sample PCC {paired(x_paired * ratio, truth)[1]:.4f}")
    config = configure(args.size, epochs=args.epochs, lambda_identity=args.lambda_identity, reconstruction_loss=args.reconstruction_loss).with_genes(X.shape[1], data.rnaseq.shape[1]).cyclegan
    config = replace(config, validation_fraction=0.0)  # each epoch's own G
    print("epoch  paired RMSE  sample PCC  per-gene W1  sliced W1")
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = Path(tmp) / "step1.ckpt"
        for epoch in range(args.epochs + 1):
            G, _, _ = train_cyclegan(X, Y, replace(config, epochs=epoch), device="cpu", checkpoint=checkpoint if epoch else None)
            with torch.no_grad():
                gp = G(torch.from_numpy(x_paired.astype(np.float32))).numpy()
                gx = G(torch.from_numpy(X.astype(np.float32))).numpy()
            rmse, pcc = paired(gp, truth)
            print(f"{epoch:5d}  {rmse:11.3f}  {pcc:10.4f}  {marginal_w1(gx, Y, mean, std):11.4f}  {sliced(torch.from_numpy(gx)):9.4f}", flush=True)


if __name__ == "__main__":
    main()
