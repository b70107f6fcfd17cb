"""Train the two-step translator from an L1000 Level 3 file and ARCHS4 counts, and write a bundle."""

import json
import sys
from dataclasses import replace
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from conversion.formats import FormatError
from conversion.models import TranslatorModel
from conversion.translator.bundle import BundleError
from conversion.translator.config import SIZES, get_config
from conversion.translator.data import GeneMap, load_training_data, read_entrez_list


def gene_map_from_registry() -> GeneMap:
    """The same joins as read_gene_map, from the gene registry (search.Gene / GeneAlias) in the database."""
    from search.models import AliasKind, Gene, GeneAlias

    genes = list(Gene.objects.values_list("entrez_id", "symbol", "ensembl_id"))
    if not genes:
        raise CommandError("The gene registry is empty: run import_genes first, or pass --gene-info Homo_sapiens.gene_info.")
    symbol_of = {str(e): s for e, s, _ in genes}
    by_symbol = {s: str(e) for e, s, _ in genes}
    by_ensembl = {ens: str(e) for e, _, ens in genes if ens}
    by_synonym, seen = {}, {}
    for alias, entrez, kind in GeneAlias.objects.values_list("alias", "gene_id", "kind"):
        if kind == AliasKind.ENSEMBL:
            by_ensembl.setdefault(alias, str(entrez))
        else:
            seen.setdefault(alias, set()).add(str(entrez))
    by_synonym = {a: next(iter(ids)) for a, ids in seen.items() if len(ids) == 1 and a not in by_symbol}
    return GeneMap(symbol_of, by_ensembl, by_symbol, by_synonym)


class Command(BaseCommand):
    help = (
        "Train step 1 (CycleGAN on the landmark genes, unpaired L1000 and RNA-seq) and step 2 (landmarks -> all genes on "
        "RNA-seq), then write a self-describing bundle. Checkpoints after every epoch: re-running the same command resumes."
    )

    def add_arguments(self, parser):
        parser.add_argument("--l1000", required=True, help="L1000 Level 3 GCTX or GCT (landmark rows found by pr_is_lm or --landmarks).")
        parser.add_argument("--rnaseq", required=True, help="ARCHS4 gene-count HDF5.")
        parser.add_argument("--out", required=True, help="Bundle file to write.")
        parser.add_argument("--size", default="paper", choices=sorted(SIZES), help="Network size (default: the paper's).")
        parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
        parser.add_argument("--gene-info", help="NCBI Homo_sapiens.gene_info joining ARCHS4 symbols/Ensembl ids to Entrez ids; default: the gene registry.")
        parser.add_argument("--landmarks", help="Landmark Entrez ids (one per line, or a GCTX whose rows they are); default: rows flagged pr_is_lm.")
        parser.add_argument("--output-genes", help="Output Entrez ids (one per line, or a GCTX whose rows they are); default: every ARCHS4 gene with an Entrez id.")
        parser.add_argument("--max-l1000", type=int, default=200_000, help="L1000 profiles sampled for step 1 (default 200,000).")
        parser.add_argument("--max-rnaseq", type=int, default=50_000, help="ARCHS4 samples used (default 50,000; memory = this x genes x 4 bytes).")
        parser.add_argument("--epochs", type=int, help="CycleGAN epochs (default: the size's).")
        parser.add_argument("--max-epochs-step2", type=int, help="Upper bound on extrapolator epochs (early stopping decides).")
        parser.add_argument("--lambda-identity", type=float, help="Identity-loss weight (paper: 10).")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--model-version", help="Model version (default: a UTC timestamp).")
        parser.add_argument("--register", metavar="NAME", help="Also add the bundle to the model registry under NAME.")
        parser.add_argument("--activate", action="store_true", help="With --register: make it the active translator.")
        parser.add_argument("--checkpoint-dir", help="Where epoch checkpoints go (default: <out>.ckpt/ beside the bundle).")

    def handle(self, *args, **o):
        out = Path(o["out"])
        config = get_config(o["size"])
        config = replace(config, cyclegan=replace(config.cyclegan, seed=o["seed"]), extrapolator=replace(config.extrapolator, seed=o["seed"]))
        if o["epochs"] is not None:
            config = replace(config, cyclegan=replace(config.cyclegan, epochs=o["epochs"]))
        if o["max_epochs_step2"] is not None:
            config = replace(config, extrapolator=replace(config.extrapolator, max_epochs=o["max_epochs_step2"]))
        if o["lambda_identity"] is not None:
            config = replace(config, cyclegan=replace(config.cyclegan, lambda_identity=o["lambda_identity"]))
        version = o["model_version"] or timezone.now().strftime("%Y%m%d-%H%M%S")
        checkpoint_dir = Path(o["checkpoint_dir"]) if o["checkpoint_dir"] else out.with_name(f"{out.name}.ckpt")
        try:
            gene_info = o["gene_info"] or gene_map_from_registry()
            data = load_training_data(
                o["l1000"], o["rnaseq"], gene_info,
                landmark_entrez_ids=read_entrez_list(o["landmarks"]) if o["landmarks"] else None,
                output_entrez_ids=read_entrez_list(o["output_genes"]) if o["output_genes"] else None,
                max_l1000=o["max_l1000"], max_rnaseq=o["max_rnaseq"], seed=o["seed"], progress=self._say,
            )
            self._say(
                f"{len(data.l1000)} L1000 and {len(data.rnaseq)} RNA-seq profiles; {len(data.landmark_entrez_ids)} landmark "
                f"-> {len(data.output_entrez_ids)} output genes; size {config.size}, device {o['device']}."
            )
            from conversion.translator.train import train_two_step

            bars = {}

            def progress(stage, epoch, total, losses):
                if stage not in bars:
                    bars[stage] = tqdm(total=total, initial=epoch - 1, desc=stage, unit="epoch", file=sys.stderr, disable=None)
                bars[stage].update(1)
                bars[stage].set_postfix({k: round(v, 4) for k, v in losses.items() if k != "epoch"})

            bundle = train_two_step(data, config, version=version, device=o["device"], checkpoint_dir=checkpoint_dir, progress=progress)
            for bar in bars.values():
                bar.close()
            bundle.save(out)
        except (FormatError, BundleError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Wrote {out} (version {version}, {out.stat().st_size / 1e6:.1f} MB).")
        self.stdout.write(json.dumps({k: v for k, v in bundle.training.items() if not k.endswith("history")}, indent=1))
        if o["register"]:
            model = TranslatorModel.register_bundle(out, name=o["register"], activate=o["activate"])
            self.stdout.write(f"Registered as {model}{' (active)' if model.is_active else ''}.")

    def _say(self, message: str) -> None:
        self.stderr.write(message)
