"""Training loops for both steps, on in-memory float32 arrays (samples, genes).

Step 1 follows the CycleGAN objective (Zhu et al. 2017, eq. 1-3) with the
least-squares adversarial loss and L1 cycle and identity losses, as the
CycleGAN reference code has them (`reconstruction_loss`; "mse" gives the
paper's text, under which G drifts from its start much faster:
docs/translator.md):
    L(G, F, D_X, D_Y) = L_GAN(G, D_Y) + L_GAN(F, D_X)
                        + lambda_cycle * L_cyc(G, F) + lambda_identity * L_idt(G, F)
Step 2 is plain regression (MSE) with early stopping on a validation split.

Step 1 has no paired data to stop on, and more epochs are not better: G starts
as per-gene moment matching between the domains and, on the synthetic worlds,
every epoch moved its outputs' per-gene distributions further from the RNA-seq
while the paired error grew with them (docs/translator.md, "Choosing step 1's
epoch"). So a share of each domain is held out and, after every epoch and before
the first, G is scored by how far G(x) lies from the held-out RNA-seq in
distribution (DistributionDistance: sliced Wasserstein distance on profiles
standardised per gene); the best-scoring G is kept, so step 1 never ends
worse, by this measure, than where it starts.

Both loops write a checkpoint (atomically) after the first epoch, then whenever
`checkpoint_every` seconds have passed since the last one, and after the last
epoch; they resume from it when it exists, so an interrupted run loses at most
that much work. A checkpoint resumes only a run of the same configuration; its
epoch budget may grow (train a finished run for longer), never shrink below
what it has done. (Every epoch would be too often at paper size: a step-2
checkpoint with its Adam moments is about 3.8 GB.)
"""

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from conversion.files import atomic_path

from .config import CycleGANConfig, ExtrapolatorConfig
from .device import resolve_device
from .networks import Discriminator, Extrapolator, Generator

logger = logging.getLogger(__name__)

# progress(stage, epoch, total_epochs, losses) is called after every epoch.
Progress = Callable[[str, int, int, dict], None]


def _autocast(device: torch.device):
    # Mixed precision only on CUDA: bf16 needs no loss scaling. On the CPU we stay in fp32.
    return torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")


def _save_atomic(obj: dict, path: Path) -> None:
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


class _Checkpointer:
    def __init__(self, path: Path | None, every_s: float):
        self.path, self.every_s, self.last = path, every_s, None

    def maybe_save(self, make_state: Callable[[], dict], *, force: bool = False) -> None:
        if self.path is None:
            return
        now = time.monotonic()
        if force or self.last is None or now - self.last >= self.every_s:
            _save_atomic(make_state(), self.path)
            self.last = now


# What training did before a setting existed, where that differs from the setting's default:
# step 1 kept its last epoch until it held out a validation share; its losses were L1.
PREDATED = {"CycleGANConfig": {"reconstruction_loss": "l1", "validation_fraction": 0.0}}


def _check_resumable(state: dict, config, *, budget: str, step: int, checkpoint) -> None:
    """A checkpoint resumes only the run it came from: the same configuration, except
    that the epoch budget (`budget`) may have grown, so a finished run can be trained on.
    A setting the checkpoint predates counts as what training did before it existed."""
    defaults = {**asdict(type(config)()), **PREDATED.get(type(config).__name__, {})}
    saved, mine = {**defaults, **state["config"]}, asdict(config)
    differs = sorted(k for k in saved.keys() | mine.keys() if k != budget and saved.get(k) != mine.get(k))
    if differs:
        raise ValueError(
            f"Checkpoint {checkpoint} was written with a different step-{step} configuration ({', '.join(differs)} differ); "
            "delete it to start over."
        )
    if state["epoch"] > mine[budget]:
        raise ValueError(
            f"Checkpoint {checkpoint} has trained step {step} for {state['epoch']} epochs, more than the {mine[budget]} asked for; "
            f"ask for at least {state['epoch']} or delete it to start over."
        )


def _check_matrix(name: str, array: np.ndarray, n_genes: int) -> torch.Tensor:
    if array.ndim != 2 or array.shape[1] != n_genes:
        raise ValueError(f"{name} must be (samples, {n_genes}) but has shape {array.shape}.")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


def _move(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    # Pinned host memory lets the host-to-device copy overlap with compute on CUDA.
    if device.type == "cuda":
        return t.pin_memory().to(device, non_blocking=True)
    return t


class DistributionDistance:
    """How far a set of predicted RNA-seq profiles lies from real ones, without pairing them.

    The sliced Wasserstein-1 distance: both sets are standardised with the
    reference set's per-gene mean and standard deviation, projected on
    `n_projections` fixed random unit directions, and the distance is the mean
    absolute difference of their quantiles (at `n_quantiles` levels) over the
    directions. It sees each gene's distribution and, through the directions,
    how genes vary together; it is 0 for identically distributed sets.
    """

    def __init__(self, reference: torch.Tensor, *, n_projections: int = 64, n_quantiles: int = 50, seed: int = 0):
        reference = reference.float()
        self.mean = reference.mean(0)
        self.std = reference.std(0).clamp_min(1e-3)
        directions = torch.randn(reference.shape[1], n_projections, generator=torch.Generator().manual_seed(seed))
        self.directions = (directions / directions.norm(dim=0, keepdim=True)).to(reference.device)
        self.levels = torch.linspace(0, 1, n_quantiles, device=reference.device)
        self.reference = self._quantiles(reference)

    def _quantiles(self, profiles: torch.Tensor) -> torch.Tensor:
        projected = ((profiles.float() - self.mean) / self.std) @ self.directions  # (n, n_projections)
        return torch.quantile(projected, self.levels, dim=0)  # (n_quantiles, n_projections)

    def __call__(self, profiles: torch.Tensor) -> float:
        return float((self._quantiles(profiles) - self.reference).abs().mean())


def _held_out(n: int, fraction: float, seed: int, *, at_least: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, validation) positions: the validation set is the first share (at least `at_least`) of a seeded permutation."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = max(at_least, int(round(n * fraction)))
    return perm[n_val:], perm[:n_val]


# Step 1 holds out a validation share only where each domain keeps at least this many samples out.
MIN_VALIDATION = 10


@torch.no_grad()
def _distance_of(G: nn.Module, X_val: torch.Tensor, distance: DistributionDistance, batch_size: int) -> float:
    G.eval()
    predicted = torch.cat([G(X_val[i : i + batch_size]).float() for i in range(0, len(X_val), batch_size)])
    return distance(predicted)


def train_cyclegan(
    x: np.ndarray,
    y: np.ndarray,
    config: CycleGANConfig,
    *,
    device: str | torch.device = "auto",
    checkpoint: Path | None = None,
    checkpoint_every: float = 300.0,
    progress: Progress | None = None,
) -> tuple[Generator, Generator, list[dict]]:
    """Fit step 1 on unpaired x (L1000, (n_x, genes)) and y (RNA-seq, (n_y, genes)).

    Returns (G, F, history) with the networks in eval mode on the CPU.
    """
    device = resolve_device(device)
    X = _check_matrix("L1000 training matrix", x, config.n_genes)
    Y = _check_matrix("RNA-seq training matrix", y, config.n_genes)
    select = config.validation_fraction > 0 and min(len(X), len(Y)) * config.validation_fraction >= MIN_VALIDATION
    if select:
        (train_x, val_x), (train_y, val_y) = _held_out(len(X), config.validation_fraction, config.seed + 2), _held_out(len(Y), config.validation_fraction, config.seed + 3)
        X_val, Y_val, X, Y = _move(X[val_x], device), _move(Y[val_y], device), X[train_x], Y[train_y]
        distance = DistributionDistance(Y_val, seed=config.seed)
    X, Y = _move(X, device), _move(Y, device)
    torch.manual_seed(config.seed)
    G, F = Generator(config), Generator(config)
    G.fit_scaling(X, Y)
    F.fit_scaling(Y, X)
    G, F = G.to(device), F.to(device)
    D_X, D_Y = Discriminator(config).to(device), Discriminator(config).to(device)
    betas = (config.beta1, config.beta2)
    opt_g = torch.optim.Adam([*G.parameters(), *F.parameters()], lr=config.lr, betas=betas)
    opt_d = torch.optim.Adam([*D_X.parameters(), *D_Y.parameters()], lr=config.lr, betas=betas)
    rng = torch.Generator().manual_seed(config.seed)
    history, start = [], 0
    best = {"epoch": 0, "distance": math.inf, "G": None}  # the selected G (select) and when it was trained

    if checkpoint is not None and Path(checkpoint).exists():
        state = torch.load(checkpoint, map_location=device, weights_only=True)
        _check_resumable(state, config, budget="epochs", step=1, checkpoint=checkpoint)
        for module, key in ((G, "G"), (F, "F"), (D_X, "D_X"), (D_Y, "D_Y"), (opt_g, "opt_g"), (opt_d, "opt_d")):
            module.load_state_dict(state[key])
        rng.set_state(state["rng"])
        history, start = state["history"], state["epoch"]
        best = state.get("best", best)
        logger.info("Resuming step 1 from epoch %d of %d (%s).", start, config.epochs, checkpoint)

    def consider(epoch: int) -> float | None:
        """Score G on the held-out sets; keep it when it is the best so far."""
        if not select:
            return None
        d = _distance_of(G, X_val, distance, config.batch_size * 10)
        if d < best["distance"]:
            best.update(epoch=epoch, distance=d, G={k: v.detach().clone() for k, v in G.state_dict().items()})
        return d

    if start == 0:
        initial = consider(0)
        if initial is not None:
            history.append({"epoch": 0, "val_distance": initial, "best_epoch": 0})

    mse = nn.MSELoss()
    reconstruction = nn.MSELoss() if config.reconstruction_loss == "mse" else nn.L1Loss()
    saver = _Checkpointer(checkpoint, checkpoint_every)
    steps = max(1, math.ceil(max(len(X), len(Y)) / config.batch_size))
    for epoch in range(start, config.epochs):
        for module in (G, F, D_X, D_Y):
            module.train()
        sums = dict(G=0.0, cycle=0.0, identity=0.0, D=0.0)
        # Unpaired: each step draws an independent random batch from each domain.
        ix = torch.randint(len(X), (steps, config.batch_size), generator=rng)
        iy = torch.randint(len(Y), (steps, config.batch_size), generator=rng)
        for step in range(steps):
            real_x, real_y = X[ix[step].to(X.device)], Y[iy[step].to(Y.device)]  # (B, genes)
            with _autocast(device):
                fake_y, fake_x = G(real_x), F(real_y)
                score_y, score_x = D_Y(fake_y), D_X(fake_x)
                loss_gan = mse(score_y, torch.ones_like(score_y)) + mse(score_x, torch.ones_like(score_x))
                loss_cycle = reconstruction(F(fake_y), real_x) + reconstruction(G(fake_x), real_y)
                loss_identity = reconstruction(G(real_y), real_y) + reconstruction(F(real_x), real_x)
                loss_g = loss_gan + config.lambda_cycle * loss_cycle + config.lambda_identity * loss_identity
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()

            with _autocast(device):
                loss_d = 0.0
                for D, real, fake in ((D_Y, real_y, fake_y), (D_X, real_x, fake_x)):
                    s_real, s_fake = D(real), D(fake.detach())
                    loss_d = loss_d + 0.5 * (mse(s_real, torch.ones_like(s_real)) + mse(s_fake, torch.zeros_like(s_fake)))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            for key, value in (("G", loss_gan), ("cycle", loss_cycle), ("identity", loss_identity), ("D", loss_d)):
                sums[key] += value.item() / steps
        d = consider(epoch + 1)
        history.append({"epoch": epoch + 1, **sums, **({"val_distance": d, "best_epoch": best["epoch"]} if d is not None else {})})
        saver.maybe_save(
            lambda: {"config": asdict(config), "epoch": epoch + 1, "history": history, "rng": rng.get_state(),
                     "G": G.state_dict(), "F": F.state_dict(), "D_X": D_X.state_dict(), "D_Y": D_Y.state_dict(),
                     "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(), "best": best},
            force=epoch + 1 == config.epochs,
        )
        if progress:
            progress("step1", epoch + 1, config.epochs, sums)
    if best["G"] is not None:
        G.load_state_dict(best["G"])
        logger.info("Step 1 keeps G of epoch %d of %d (held-out distribution distance %.4f).", best["epoch"], config.epochs, best["distance"])
    return G.cpu().eval(), F.cpu().eval(), history


def train_extrapolator(
    landmarks: np.ndarray,
    targets: np.ndarray,
    config: ExtrapolatorConfig,
    *,
    device: str | torch.device = "auto",
    checkpoint: Path | None = None,
    checkpoint_every: float = 300.0,
    progress: Progress | None = None,
) -> tuple[Extrapolator, list[dict]]:
    """Fit step 2 on RNA-seq: landmarks (n, n_in) -> targets (n, n_out), MSE, early stopping.

    The best network on the validation split (the last `validation_fraction` of a
    seeded permutation) is returned, in eval mode on the CPU.
    """
    device = resolve_device(device)
    inputs = _check_matrix("step-2 input matrix", landmarks, config.n_in)
    outputs = _check_matrix("step-2 target matrix", targets, config.n_out)
    if len(inputs) != len(outputs):
        raise ValueError(f"step-2 inputs and targets must have the same number of samples, found {len(inputs)} and {len(outputs)}.")
    train_idx, val_idx = _held_out(len(inputs), config.validation_fraction, config.seed, at_least=1)
    if len(train_idx) < 1:
        raise ValueError(f"step 2 needs at least 2 RNA-seq samples, found {len(inputs)}.")
    X_train, Y_train = _move(inputs[train_idx], device), _move(outputs[train_idx], device)
    X_val, Y_val = _move(inputs[val_idx], device), _move(outputs[val_idx], device)

    torch.manual_seed(config.seed)
    net = Extrapolator(config)
    net.fit_scaling(inputs[train_idx], outputs[train_idx])
    net = net.to(device)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    rng = torch.Generator().manual_seed(config.seed + 1)
    history, start, best_loss, best_state, waited = [], 0, math.inf, None, 0

    if checkpoint is not None and Path(checkpoint).exists():
        state = torch.load(checkpoint, map_location=device, weights_only=True)
        _check_resumable(state, config, budget="max_epochs", step=2, checkpoint=checkpoint)
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        rng.set_state(state["rng"])
        history, start, best_loss, waited = state["history"], state["epoch"], state["best_loss"], state["waited"]
        best_state = state["best"]
        logger.info("Resuming step 2 from epoch %d (%s).", start, checkpoint)

    mse = nn.MSELoss()
    saver = _Checkpointer(checkpoint, checkpoint_every)

    def state():
        return {"config": asdict(config), "epoch": len(history), "history": history, "rng": rng.get_state(),
                "net": net.state_dict(), "opt": opt.state_dict(), "best": best_state, "best_loss": best_loss, "waited": waited}

    for epoch in range(start, config.max_epochs):
        if waited >= config.patience:
            break
        net.train()
        order = torch.randperm(len(X_train), generator=rng).to(X_train.device)
        train_loss = 0.0
        for batch in order.split(config.batch_size):
            with _autocast(device):
                loss = mse(net(X_train[batch]), Y_train[batch])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            train_loss += loss.item() * len(batch) / len(X_train)
        val_loss = _evaluate_mse(net, X_val, Y_val, config.batch_size * 10, device)
        if val_loss < best_loss:
            best_loss, waited = val_loss, 0
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        else:
            waited += 1
        history.append({"epoch": epoch + 1, "train_mse": train_loss, "val_mse": val_loss})
        saver.maybe_save(state, force=epoch + 1 == config.max_epochs or waited >= config.patience)
        if progress:
            progress("step2", epoch + 1, config.max_epochs, history[-1])
    if best_state is not None:
        net.load_state_dict(best_state)
    return net.cpu().eval(), history


@torch.inference_mode()
def _evaluate_mse(net: nn.Module, X: torch.Tensor, Y: torch.Tensor, batch_size: int, device: torch.device) -> float:
    net.eval()
    total = 0.0
    for start in range(0, len(X), batch_size):
        with _autocast(device):
            pred = net(X[start:start + batch_size]).float()
        total += float(((pred - Y[start:start + batch_size]) ** 2).mean()) * len(pred) / len(X)
    return total


def train_two_step(
    data,
    config,
    *,
    version: str,
    device: str | torch.device = "auto",
    checkpoint_dir: Path | None = None,
    progress: Progress | None = None,
):
    """Train both steps on a TrainingData and return the Bundle (baselines fitted on the same data).

    Step 1 sees unpaired L1000 and RNA-seq landmark profiles; step 2 sees RNA-seq
    alone (landmarks -> all output genes), as in the paper. Checkpoints go to
    checkpoint_dir/step1.ckpt and step2.ckpt, so a rerun resumes.
    """
    from .bundle import Bundle, current_versions
    from .evaluate import fit_baselines

    config = config.with_genes(len(data.landmark_entrez_ids), len(data.output_entrez_ids))
    ckpt = (lambda name: Path(checkpoint_dir) / name) if checkpoint_dir else (lambda name: None)
    if checkpoint_dir:
        Path(checkpoint_dir).mkdir(parents=True, exist_ok=True)
    landmarks = data.rnaseq_landmarks  # (n_y, n_lm)
    G, _F, history1 = train_cyclegan(data.l1000, landmarks, config.cyclegan, device=device, checkpoint=ckpt("step1.ckpt"), progress=progress)
    extrapolator, history2 = train_extrapolator(landmarks, data.rnaseq, config.extrapolator, device=device, checkpoint=ckpt("step2.ckpt"), progress=progress)
    return Bundle(
        config=config,
        G=G,
        extrapolator=extrapolator,
        input_entrez_ids=data.landmark_entrez_ids,
        input_symbols=data.landmark_symbols,
        output_entrez_ids=data.output_entrez_ids,
        output_symbols=data.output_symbols,
        quantile_reference=data.reference,
        baselines=fit_baselines(data.l1000, landmarks, data.rnaseq),
        version=version,
        training={**data.description, "device": str(resolve_device(device)), "size": config.size,
                  "step1_history": history1[-3:], "step2_history": history2[-3:], "step2_epochs": len(history2),
                  "step1_selected_epoch": next((h["best_epoch"] for h in reversed(history1) if "best_epoch" in h), len(history1))},
        versions=current_versions(),
    )
