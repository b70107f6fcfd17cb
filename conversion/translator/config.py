"""Hyperparameters of the two networks, as dataclasses stored inside every bundle.

The defaults are the paper's full-size model (Jeon et al. 2022, Methods, and the
reference code): step 1 generators 978-512-512-128 with a residual block and
batch norm, back up to 978; step 2 978-2048-4096-8192-23,614. `SIZES` holds
smaller shapes for tests and the demo; they differ in widths and epochs, and
in the identity-loss weight (see REDUCED_IDENTITY_WEIGHT).
"""

from dataclasses import asdict, dataclass, field, replace

N_LANDMARKS = 978
N_OUTPUT_GENES = 23_614


@dataclass(frozen=True)
class CycleGANConfig:
    """Step 1: G (L1000 -> RNA-seq), F (RNA-seq -> L1000), D_X, D_Y on the landmark genes."""

    n_genes: int = N_LANDMARKS
    # Encoder widths of each generator; the decoder mirrors them back to n_genes.
    generator_hidden: tuple[int, ...] = (512, 512, 128)
    n_residual_blocks: int = 1
    discriminator_hidden: tuple[int, ...] = (512, 256)
    lambda_cycle: float = 10.0
    lambda_identity: float = 10.0
    lr: float = 2e-4
    # Adam betas of the CycleGAN reference implementation (Zhu et al. 2017).
    beta1: float = 0.5
    beta2: float = 0.999
    batch_size: int = 100
    epochs: int = 100
    seed: int = 0
    # Share of each domain held out to pick the epoch whose G(x) is distributed most like
    # the RNA-seq (conversion.translator.train.DistributionDistance); 0 keeps the last epoch.
    validation_fraction: float = 0.1
    # Cycle and identity losses: "l1" (the CycleGAN reference code's) or "mse" (the paper's text).
    # L1, because under MSE step 1 drifts from its start much faster (docs/translator.md).
    reconstruction_loss: str = "l1"


@dataclass(frozen=True)
class ExtrapolatorConfig:
    """Step 2: landmark genes -> all output genes, trained on RNA-seq alone."""

    n_in: int = N_LANDMARKS
    n_out: int = N_OUTPUT_GENES
    hidden: tuple[int, ...] = (2048, 4096, 8192)
    lr: float = 2e-4
    batch_size: int = 100
    max_epochs: int = 100
    patience: int = 3
    validation_fraction: float = 0.1
    seed: int = 0


@dataclass(frozen=True)
class TranslatorConfig:
    size: str = "paper"
    cyclegan: CycleGANConfig = field(default_factory=CycleGANConfig)
    extrapolator: ExtrapolatorConfig = field(default_factory=ExtrapolatorConfig)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TranslatorConfig":
        cg = dict(data["cyclegan"])
        ex = dict(data["extrapolator"])
        for key in ("generator_hidden", "discriminator_hidden"):
            cg[key] = tuple(cg[key])
        ex["hidden"] = tuple(ex["hidden"])
        return cls(size=data["size"], cyclegan=CycleGANConfig(**cg), extrapolator=ExtrapolatorConfig(**ex))

    def with_genes(self, n_landmarks: int, n_out: int) -> "TranslatorConfig":
        """The same shapes fitted to the gene lists actually found in the training files."""
        return replace(
            self,
            cyclegan=replace(self.cyclegan, n_genes=n_landmarks),
            extrapolator=replace(self.extrapolator, n_in=n_landmarks, n_out=n_out),
        )


# The paper's identity-loss weight 10 assumes the two platforms share a scale.
# Where they do not (the synthetic world's L1000 view sits ~4 log2 units above
# RNA-seq), G(y) ~ y pulls G towards the identity and step 1 no longer beats
# ratio scaling (tiny world: sample PCC 0.927 vs 0.928; with weight 1: 0.964,
# see docs/translator.md). The reduced sizes therefore use weight 1; the paper
# size keeps the paper's 10, and --lambda-identity overrides either.
REDUCED_IDENTITY_WEIGHT = 1.0
RECONSTRUCTION_LOSSES = ("mse", "l1")

SIZES = {
    "paper": TranslatorConfig(),
    # Demo size: trains in minutes on a laptop CPU, same architecture classes.
    "small": TranslatorConfig(
        size="small",
        cyclegan=CycleGANConfig(
            generator_hidden=(256, 256, 64), discriminator_hidden=(256, 128), lambda_identity=REDUCED_IDENTITY_WEIGHT, epochs=60
        ),
        extrapolator=ExtrapolatorConfig(hidden=(512, 1024, 2048), max_epochs=60),
    ),
    # Test size: seconds on two CPU cores with the tiny synthetic world.
    "tiny": TranslatorConfig(
        size="tiny",
        cyclegan=CycleGANConfig(
            generator_hidden=(128, 128, 32), discriminator_hidden=(64, 32), lambda_identity=REDUCED_IDENTITY_WEIGHT, batch_size=64, epochs=60
        ),
        extrapolator=ExtrapolatorConfig(hidden=(256, 256, 256), batch_size=64, max_epochs=200, patience=10),
    ),
}


def get_config(size: str) -> TranslatorConfig:
    try:
        return SIZES[size]
    except KeyError:
        raise ValueError(f"Unknown translator size {size!r}: expected one of {', '.join(SIZES)}.") from None


def configure(
    size: str,
    *,
    seed: int = 0,
    epochs: int | None = None,
    max_epochs_step2: int | None = None,
    lambda_identity: float | None = None,
    reconstruction_loss: str | None = None,
    validation_fraction: float | None = None,
) -> TranslatorConfig:
    """A size's config with the options the command line and the admin expose."""
    config = get_config(size)
    cyclegan = replace(config.cyclegan, seed=seed)
    extrapolator = replace(config.extrapolator, seed=seed)
    if epochs is not None:
        cyclegan = replace(cyclegan, epochs=epochs)
    if lambda_identity is not None:
        cyclegan = replace(cyclegan, lambda_identity=lambda_identity)
    if reconstruction_loss is not None:
        if reconstruction_loss not in RECONSTRUCTION_LOSSES:
            raise ValueError(f"reconstruction loss must be one of {', '.join(RECONSTRUCTION_LOSSES)}, found {reconstruction_loss!r}.")
        cyclegan = replace(cyclegan, reconstruction_loss=reconstruction_loss)
    if validation_fraction is not None:
        if not 0.0 <= validation_fraction < 1.0:
            raise ValueError(f"the step-1 validation fraction must be in [0, 1), found {validation_fraction:g}.")
        cyclegan = replace(cyclegan, validation_fraction=validation_fraction)
    if max_epochs_step2 is not None:
        extrapolator = replace(extrapolator, max_epochs=max_epochs_step2)
    return replace(config, cyclegan=cyclegan, extrapolator=extrapolator)
