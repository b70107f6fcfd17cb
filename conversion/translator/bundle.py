"""The self-describing model bundle: one file, one `load_bundle` function.

A bundle is a `torch.save`d dict of plain types and tensors (so it loads with
`weights_only=True`, never unpickling code):

    format, format_version     "l1kweb-translator", FORMAT_VERSION
    version                    the model's own version string
    config                     TranslatorConfig.to_dict(): rebuilds both networks
    G, extrapolator            state dicts of step 1's G and of step 2
    input_entrez_ids/_symbols  the landmark genes, in network input order
    output_entrez_ids/_symbols the output genes, in network output order
    quantile_reference         (n_ranks,) sorted log2(count+1) RNA-seq reference
    baselines                  ratio_scale (n_in,), linear (n_in+1, n_out), gene_mean (n_out,)
    training, metrics          description of the training data; evaluation results
    reliability                optional: per output gene, Pearson r (and RMSE) of the
                               two-step model on a paired L1000/RNA-seq set, with the
                               set's description (evaluate_translator records it)
    versions                   torch / numpy / l1kweb versions that wrote it

F and the discriminators are needed only for training and live in the training
checkpoints, not in the bundle.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from conversion.files import atomic_path

from .config import TranslatorConfig
from .networks import Extrapolator, Generator, TwoStep
from .device import resolve_device

FORMAT = "l1kweb-translator"
FORMAT_VERSION = 1
RELIABILITY_ARRAYS = ("pcc", "rmse")  # per output gene, in output order


class BundleError(ValueError):
    """A bundle file that cannot be used: unreadable, wrong format or version, or inconsistent."""


@dataclass
class Bundle:
    config: TranslatorConfig
    G: Generator
    extrapolator: Extrapolator
    input_entrez_ids: list[str]
    input_symbols: list[str]
    output_entrez_ids: list[str]
    output_symbols: list[str]
    quantile_reference: np.ndarray
    baselines: dict = field(default_factory=dict)
    version: str = "0"
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    reliability: dict = field(default_factory=dict)  # {"pcc": (n_out,), "rmse": (n_out,), "n_samples", "paired_set", "evaluated_at"}

    def __post_init__(self):
        self.device = torch.device("cpu")
        self.network = TwoStep(self.G, self.extrapolator).eval()

    @property
    def n_in(self) -> int:
        return len(self.input_entrez_ids)

    @property
    def n_out(self) -> int:
        return len(self.output_entrez_ids)

    def to(self, device: str | torch.device = "auto") -> "Bundle":
        self.device = resolve_device(device)
        self.network.to(self.device)
        return self

    def _check_input(self, l1000: np.ndarray) -> np.ndarray:
        if l1000.ndim != 2 or l1000.shape[1] != self.n_in:
            raise ValueError(f"L1000 input must be (profiles, {self.n_in}) in the bundle's landmark order, but has shape {l1000.shape}.")
        return np.ascontiguousarray(l1000, dtype=np.float32)

    @torch.inference_mode()
    def _run(self, module: torch.nn.Module, l1000: np.ndarray, batch_size: int, out_dtype) -> np.ndarray:
        l1000 = self._check_input(l1000)
        n_out = self.n_out if module is self.network else self.n_in
        out = np.empty((len(l1000), n_out), dtype=out_dtype)
        cuda = self.device.type == "cuda"
        for start in range(0, len(l1000), batch_size):
            block = torch.from_numpy(l1000[start:start + batch_size])
            if cuda:
                block = block.pin_memory().to(self.device, non_blocking=True)
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=cuda):
                pred = module(block)
            out[start:start + len(pred)] = pred.to(dtype=torch.float16 if out_dtype == np.float16 else torch.float32).cpu().numpy()
        return out

    def predict(self, l1000: np.ndarray, *, batch_size: int = 2048, dtype=np.float32) -> np.ndarray:
        """(n, n_in) L1000 Level 3 landmark values -> (n, n_out) RNA-seq-like log2 values."""
        return self._run(self.network, l1000, batch_size, dtype)

    def predict_landmarks(self, l1000: np.ndarray, *, batch_size: int = 2048) -> np.ndarray:
        """Step 1 alone: (n, n_in) L1000 -> (n, n_in) RNA-seq-like landmark values (G(x))."""
        return self._run(self.G, l1000, batch_size, np.float32)

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "version": self.version,
            "config": self.config.to_dict(),
            "G": {k: v.cpu() for k, v in self.G.state_dict().items()},
            "extrapolator": {k: v.cpu() for k, v in self.extrapolator.state_dict().items()},
            "input_entrez_ids": list(map(str, self.input_entrez_ids)),
            "input_symbols": list(map(str, self.input_symbols)),
            "output_entrez_ids": list(map(str, self.output_entrez_ids)),
            "output_symbols": list(map(str, self.output_symbols)),
            "quantile_reference": torch.as_tensor(np.asarray(self.quantile_reference, dtype=np.float32)),
            "baselines": {k: torch.as_tensor(np.asarray(v, dtype=np.float32)) for k, v in self.baselines.items()},
            "training": self.training,
            "metrics": self.metrics,
            "versions": self.versions or current_versions(),
            "reliability": {
                k: torch.as_tensor(np.asarray(v, dtype=np.float32)) if k in RELIABILITY_ARRAYS else v for k, v in self.reliability.items()
            },
        }

    def save(self, path: str | Path) -> Path:
        """Write atomically (see conversion.files.atomic_path)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            torch.save(self.to_dict(), tmp)
        return path


def current_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    try:
        l1kweb = version("l1kweb")
    except PackageNotFoundError:
        l1kweb = "unknown"
    return {"torch": str(torch.__version__), "numpy": str(np.__version__), "l1kweb": l1kweb, "bundle_format": FORMAT_VERSION}


def read_reliability(path: str | Path) -> dict:
    """A bundle's recorded per-gene reliability with its output genes, without building the networks:
    {"entrez_ids": [...], "pcc": (n_out,), "rmse": (n_out,), "n_samples", "paired_set", "evaluated_at"}, or {}."""
    try:
        data = torch.load(Path(path), map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # torch raises several unrelated types for a corrupt or foreign file
        raise BundleError(f"Model bundle {path} could not be read as a translator bundle: {exc}") from exc
    stored = data.get("reliability") if isinstance(data, dict) else None
    if not stored:
        return {}
    out = {k: v.numpy().copy() if k in RELIABILITY_ARRAYS else v for k, v in stored.items()}
    out["entrez_ids"] = list(data["output_entrez_ids"])
    if len(out["pcc"]) != len(out["entrez_ids"]):
        raise BundleError(f"Model bundle {path} is inconsistent: its reliability lists {len(out['pcc'])} genes but the model outputs {len(out['entrez_ids'])}.")
    return out


def load_bundle(path: str | Path, *, device: str | torch.device = "cpu") -> Bundle:
    """Load and check a bundle; anything that does not fit is refused with one clear sentence."""
    path = Path(path)
    if not path.is_file():
        raise BundleError(f"Model bundle {path} does not exist.")
    try:
        # mmap: the weights (about 1 GB at paper size) are paged in from the file
        # instead of being read into memory and then copied into the networks.
        data = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # torch raises several unrelated types for a corrupt or foreign file
        raise BundleError(f"Model bundle {path} could not be read as a translator bundle: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BundleError(f"{path} is not an l1kweb translator bundle (format {data.get('format') if isinstance(data, dict) else type(data).__name__!r}).")
    if data.get("format_version") != FORMAT_VERSION:
        raise BundleError(
            f"Model bundle {path} has format version {data.get('format_version')}, but this l1kweb reads version {FORMAT_VERSION}; retrain or convert it."
        )
    config = TranslatorConfig.from_dict(data["config"])
    n_in, n_out = len(data["input_entrez_ids"]), len(data["output_entrez_ids"])
    if (config.cyclegan.n_genes, config.extrapolator.n_in, config.extrapolator.n_out) != (n_in, n_in, n_out):
        raise BundleError(
            f"Model bundle {path} is inconsistent: its networks expect {config.extrapolator.n_in} inputs and "
            f"{config.extrapolator.n_out} outputs, but it lists {n_in} input and {n_out} output genes."
        )
    if len(data["input_symbols"]) != n_in or len(data["output_symbols"]) != n_out:
        raise BundleError(f"Model bundle {path} is inconsistent: gene symbols and Entrez ids differ in length.")
    G, extrapolator = Generator(config.cyclegan), Extrapolator(config.extrapolator)
    try:
        G.load_state_dict(data["G"], assign=True)
        extrapolator.load_state_dict(data["extrapolator"], assign=True)
    except RuntimeError as exc:
        raise BundleError(f"Model bundle {path} has weights that do not match its configuration: {exc}") from exc
    bundle = Bundle(
        config=config,
        G=G.eval(),
        extrapolator=extrapolator.eval(),
        input_entrez_ids=data["input_entrez_ids"],
        input_symbols=data["input_symbols"],
        output_entrez_ids=data["output_entrez_ids"],
        output_symbols=data["output_symbols"],
        quantile_reference=data["quantile_reference"].numpy(),
        baselines={k: v.numpy() for k, v in data.get("baselines", {}).items()},
        version=data["version"],
        training=data.get("training", {}),
        metrics=data.get("metrics", {}),
        versions=data.get("versions", {}),
        reliability={k: v.numpy() if k in RELIABILITY_ARRAYS else v for k, v in data.get("reliability", {}).items()},
    )
    if bundle.reliability and len(bundle.reliability.get("pcc", ())) != n_out:
        raise BundleError(f"Model bundle {path} is inconsistent: its reliability lists {len(bundle.reliability['pcc'])} genes but the model outputs {n_out}.")
    return bundle.to(device)
