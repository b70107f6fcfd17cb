"""Evaluate a bundle on a GTEx-style paired set: metrics.json and a Plotly report.html."""

import json
from pathlib import Path

import pandas as pd

from django.core.management.base import BaseCommand, CommandError

from conversion.files import atomic_path
from conversion.formats import FormatError
from conversion.models import TranslatorModel
from l1kweb.paths import stored_data_path
from conversion.translator.bundle import BundleError, load_bundle
from conversion.translator.evaluate import evaluate_bundle, gene_reliability, load_paired_for_bundle
from conversion.translator.report import write_report


class Command(BaseCommand):
    help = (
        "Score BUNDLE on paired L1000/RNA-seq profiles of the same samples (GEO GSE92743-style): sample-wise PCC, Spearman "
        "and RMSE at the landmark step (model vs ratio scaling vs raw L1000) and over all genes (two-step model vs linear "
        "regression vs training mean vs random pairs), gene-wise PCC and RMSE. Writes DIR/metrics.json, DIR/report.html and "
        "DIR/gene_reliability.tsv, and records the gene-wise PCC in the bundle (unless --no-record): releases computed from "
        "its conversions show it next to every gene."
    )

    def add_arguments(self, parser):
        parser.add_argument("bundle")
        parser.add_argument("--l1000", required=True, help="Paired L1000 GCTX (landmark rows by Entrez id).")
        parser.add_argument("--rnaseq", required=True, help="Paired RNA-seq GCTX (rows by Entrez id, the same sample ids).")
        parser.add_argument("--out", required=True, help="Directory for metrics.json and report.html.")
        parser.add_argument("--rnaseq-values", default="log2", choices=["log2", "counts", "normalized"],
                            help="Scale of the RNA-seq file: log2 (default: log2(count+1), or GSE92743's log2 RPKM), raw counts, or already on the bundle's quantile scale.")
        parser.add_argument("--seed", type=int, default=0, help="Seed of the random pairing baseline.")
        parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
        parser.add_argument("--no-record", dest="record", action="store_false",
                            help="Leave the bundle as it is (by default the per-gene reliability is written into it).")

    def handle(self, *args, bundle, l1000, rnaseq, out, rnaseq_values, seed, device, record=True, **options):
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        try:
            model = load_bundle(bundle, device=device)
            _, x, truth = load_paired_for_bundle(model, l1000, rnaseq, rnaseq_values=rnaseq_values)
            result = evaluate_bundle(model, x, truth, seed=seed)
        except (FormatError, BundleError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        metrics = {"bundle": str(bundle), "version": model.version, "paired_set": {"l1000": str(l1000), "rnaseq": str(rnaseq)}, **result["summary"]}
        with atomic_path(out / "metrics.json") as tmp:
            tmp.write_text(json.dumps(metrics, indent=1))
        write_report(result, out / "report.html", title=f"Translator {model.version}: paired evaluation",
                     description=f"Bundle {bundle}; paired set {l1000} + {rnaseq} ({rnaseq_values}).")
        reliability = gene_reliability(result, paired_set=f"{Path(l1000).name} + {Path(rnaseq).name} ({rnaseq_values})")
        with atomic_path(out / "gene_reliability.tsv") as tmp:
            pd.DataFrame(
                {"entrez_id": model.output_entrez_ids, "symbol": model.output_symbols, "pcc": reliability["pcc"], "rmse": reliability["rmse"]}
            ).to_csv(tmp, sep="\t", index=False, float_format="%.6g")
        if record:
            model.metrics, model.reliability = metrics, reliability
            model.save(bundle)
            self.stdout.write(f"Recorded the gene-wise PCC of {len(reliability['pcc'])} genes ({reliability['n_samples']} paired samples) in {bundle}.")
        registered = TranslatorModel.objects.filter(path=stored_data_path(bundle)).update(metrics=metrics)
        self._print(result["summary"])
        self.stdout.write(f"Wrote {out / 'metrics.json'} and {out / 'report.html'}" + (" and updated the model registry." if registered else "."))

    def _print(self, summary: dict) -> None:
        missing = summary.get("n_genes_missing", 0)
        genes = f" over the {summary['n_genes_evaluated']} output genes the paired RNA-seq has ({missing} it lacks)" if missing else ""
        self.stdout.write(f"{summary['n_samples']} paired samples{genes}; medians:")
        self.stdout.write(f"  {'level':<10} {'method':<18} {'sample PCC':>10} {'Spearman':>9} {'RMSE':>7} {'gene PCC':>9}")
        for level in ("landmarks", "all_genes"):
            for method, s in summary[level].items():
                self.stdout.write(
                    f"  {level:<10} {method:<18} {s['sample_pcc']['median']:>10.3f} {s['sample_spearman']['median']:>9.3f} "
                    f"{s['sample_rmse']['median']:>7.3f} {s['gene_pcc']['median']:>9.3f}"
                )
        zeros = summary["zeros"]
        self.stdout.write(
            f"  the two-step model predicts exactly 0 for {zeros['predicted_exactly_0']:.2%} of values (measured <= 0.01: "
            f"{zeros['measured_at_most_0.01']:.2%}); {zeros['genes_predicted_0_in_half_the_samples']} genes are 0 in half the samples or more"
        )
        for name, share in summary["share_of_genes_model_beats"].items():
            self.stdout.write(f"  the model's gene-wise PCC beats {name} on {share:.1%} of genes")
