"""Write a synthetic L1000 / ARCHS4 / GTEx world in the real file formats (see conversion.synthetic)."""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from conversion.synthetic import LAYOUTS, SIZES, TF_TARGETS_FILE, make_world

# The manifest entries listed after the summary, per layout.
FILES = {
    "geo": ("l1000", "inst_info", "gene_info", "ncbi_gene_info", "archs4", "gtex_l1000", "gtex_rnaseq", "truth"),
    "lincs2020": (
        "level3_files", "instinfo_beta", "geneinfo_beta", "compoundinfo_beta", "ncbi_gene_info", "archs4", "gtex_l1000", "gtex_rnaseq", "truth",
    ),
}


class Command(BaseCommand):
    help = (
        "Write a synthetic world to OUT_DIR: L1000 Level 3 with its metadata tables (--layout geo: one GCTX, inst_info, gene_info; "
        "lincs2020: the 2020 release's split ctl/trt_cp/trt_xpr GCTX files, instinfo_beta, geneinfo_beta, compoundinfo_beta), "
        "NCBI gene_info, ARCHS4 HDF5, GTEx pairs and the truth table."
    )

    def add_arguments(self, parser):
        parser.add_argument("out_dir")
        parser.add_argument("--size", choices=list(SIZES), default="demo")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--layout", choices=list(LAYOUTS), default="geo", help="The L1000 release whose files are written (default geo).")

    def handle(self, *args, out_dir, size, seed, layout, **options):
        started = time.monotonic()
        try:
            manifest = make_world(out_dir, size=size, seed=seed, layout=layout, progress=lambda step: self.stdout.write(f"  writing {step} ..."))
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        spec = SIZES[size]
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote the {size} world (seed {seed}{', layout lincs2020' if layout != 'geo' else ''}) to {out_dir} in {time.monotonic() - started:.1f} s: "
                f"{len(manifest['landmark_entrez_ids'])} landmarks, {len(manifest['output_entrez_ids'])} output genes, "
                f"{spec.n_cells} cell lines, {spec.n_compounds} compounds, {spec.n_knockouts} knockouts, "
                f"{spec.n_archs4} ARCHS4 samples, {spec.n_gtex} GTEx pairs."
            )
        )
        for key in FILES[layout]:
            for path in manifest[key] if isinstance(manifest[key], list) else [manifest[key]]:
                self.stdout.write(f"  {key:17s} {path}")
        self.stdout.write(f"  {'tf_targets':17s} {Path(out_dir) / TF_TARGETS_FILE}")
