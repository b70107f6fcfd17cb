"""Train the two-step translator from an L1000 Level 3 file and ARCHS4 counts, and write a bundle."""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from conversion.formats import FormatError
from conversion.models import TranslatorModel
from conversion.translator.bundle import BundleError
from conversion.translator.config import RECONSTRUCTION_LOSSES, SIZES, configure
from conversion.translator.data import MIN_COUNT, MIN_SAMPLE_FRACTION
from conversion.training import train_from_files


class Command(BaseCommand):
    help = (
        "Train step 1 (CycleGAN on the landmark genes, unpaired L1000 and RNA-seq) and step 2 (landmarks -> all genes on "
        "RNA-seq), then write a self-describing bundle. Checkpoints after the first epoch, then every few minutes and after the last: re-running the same command resumes."
    )

    def add_arguments(self, parser):
        parser.add_argument("--l1000", required=True, help="L1000 Level 3 GCTX or GCT (landmark rows found by pr_is_lm or --landmarks).")
        parser.add_argument("--rnaseq", required=True, help="ARCHS4 gene-count HDF5.")
        parser.add_argument("--out", required=True, help="Bundle file to write.")
        parser.add_argument("--size", default="paper", choices=sorted(SIZES), help="Network size (default: the paper's).")
        parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
        parser.add_argument("--gene-info", help="NCBI Homo_sapiens.gene_info joining ARCHS4 symbols/Ensembl ids to Entrez ids; default: the gene registry.")
        parser.add_argument("--landmarks", help="Landmark Entrez ids (one per line, or a GCTX whose rows they are); default: rows flagged pr_is_lm.")
        parser.add_argument("--output-genes", help="Output Entrez ids (one per line, or a GCTX whose rows they are); default: the paper's rule, "
                            "ARCHS4 genes with at least --min-count counts in at least --min-sample-fraction of the training samples.")
        parser.add_argument("--min-count", type=float, default=MIN_COUNT, help=f"Output-gene rule: counts a sample must reach (default {MIN_COUNT}).")
        parser.add_argument("--min-sample-fraction", type=float, default=MIN_SAMPLE_FRACTION,
                            help=f"Output-gene rule: share of the training samples that must reach --min-count (default {MIN_SAMPLE_FRACTION}).")
        parser.add_argument("--max-l1000", type=int, default=200_000, help="L1000 profiles sampled for step 1 (default 200,000).")
        parser.add_argument("--max-rnaseq", type=int, default=50_000, help="ARCHS4 samples used (default 50,000; memory = this x genes x 4 bytes).")
        parser.add_argument("--epochs", type=int, help="CycleGAN epochs (default: the size's).")
        parser.add_argument("--max-epochs-step2", type=int, help="Upper bound on extrapolator epochs (early stopping decides).")
        parser.add_argument("--lambda-identity", type=float, help="Identity-loss weight (paper: 10).")
        parser.add_argument("--reconstruction-loss", choices=RECONSTRUCTION_LOSSES, help="Cycle and identity losses: l1 (default, the CycleGAN reference code's) or mse (the paper's text).")
        parser.add_argument("--validation-fraction", type=float,
                            help="Share of each domain step 1 holds out to pick its best epoch (default 0.1; 0 keeps the last epoch).")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--model-version", help="Model version (default: a UTC timestamp).")
        parser.add_argument("--register", metavar="NAME", help="Also add the bundle to the model registry under NAME.")
        parser.add_argument("--activate", action="store_true", help="With --register: make it the active translator.")
        parser.add_argument("--checkpoint-dir", help="Where checkpoints go (default: <out>.ckpt/ beside the bundle).")

    def handle(self, *args, **o):
        if o["min_count"] < 0 or not 0 <= o["min_sample_fraction"] <= 1:
            raise CommandError(f"--min-count must be >= 0 and --min-sample-fraction between 0 and 1, found {o['min_count']:g} and {o['min_sample_fraction']:g}.")
        out = Path(o["out"])
        try:
            config = configure(o["size"], seed=o["seed"], epochs=o["epochs"], max_epochs_step2=o["max_epochs_step2"], lambda_identity=o["lambda_identity"],
                               reconstruction_loss=o["reconstruction_loss"], validation_fraction=o["validation_fraction"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        version = o["model_version"] or timezone.now().strftime("%Y%m%d-%H%M%S")
        checkpoint_dir = Path(o["checkpoint_dir"]) if o["checkpoint_dir"] else out.with_name(f"{out.name}.ckpt")
        try:
            bars = {}

            def progress(stage, epoch, total, losses):
                if stage not in bars:
                    bars[stage] = tqdm(total=total, initial=epoch - 1, desc=stage, unit="epoch", file=sys.stderr, disable=None)
                bars[stage].update(1)
                bars[stage].set_postfix({k: round(v, 4) for k, v in losses.items() if k != "epoch"})

            bundle = train_from_files(
                l1000=o["l1000"], rnaseq=o["rnaseq"], out=out, config=config, version=version, gene_info=o["gene_info"],
                landmarks=o["landmarks"], output_genes=o["output_genes"], max_l1000=o["max_l1000"], max_rnaseq=o["max_rnaseq"],
                min_count=o["min_count"], min_sample_fraction=o["min_sample_fraction"], seed=o["seed"], device=o["device"], checkpoint_dir=checkpoint_dir, progress=progress, say=self._say,
            )
            for bar in bars.values():
                bar.close()
        except (FormatError, BundleError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Wrote {out} (version {version}, {out.stat().st_size / 1e6:.1f} MB).")
        self.stdout.write(json.dumps({k: v for k, v in bundle.training.items() if not k.endswith("history")}, indent=1))
        if o["register"]:
            model = TranslatorModel.register_bundle(out, name=o["register"], activate=o["activate"])
            self.stdout.write(f"Registered as {model}{' (active)' if model.is_active else ''}.")

    def _say(self, message: str) -> None:
        self.stderr.write(message)
