"""Write a synthetic L1000 / ARCHS4 / GTEx world in the real file formats (see conversion.synthetic)."""

import time

from django.core.management.base import BaseCommand, CommandError

from conversion.synthetic import SIZES, make_world


class Command(BaseCommand):
    help = "Write a synthetic world (Level 3 GCTX + inst_info/gene_info, NCBI gene_info, ARCHS4 HDF5, GTEx pairs, truth table) to OUT_DIR."

    def add_arguments(self, parser):
        parser.add_argument("out_dir")
        parser.add_argument("--size", choices=list(SIZES), default="demo")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, out_dir, size, seed, **options):
        started = time.monotonic()
        try:
            manifest = make_world(out_dir, size=size, seed=seed, progress=lambda step: self.stdout.write(f"  writing {step} ..."))
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        spec = SIZES[size]
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote the {size} world (seed {seed}) to {out_dir} in {time.monotonic() - started:.1f} s: "
                f"{len(manifest['landmark_entrez_ids'])} landmarks, {len(manifest['output_entrez_ids'])} output genes, "
                f"{spec.n_cells} cell lines, {spec.n_compounds} compounds, {spec.n_knockouts} knockouts, "
                f"{spec.n_archs4} ARCHS4 samples, {spec.n_gtex} GTEx pairs."
            )
        )
        for key in ("l1000", "inst_info", "gene_info", "ncbi_gene_info", "archs4", "gtex_l1000", "gtex_rnaseq", "truth"):
            self.stdout.write(f"  {key:15s} {manifest[key]}")
