"""Register an L1000 Level 3 matrix (GCTX or GCT), or several that make one dataset, after checking them end to end."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify
from tqdm import tqdm

from conversion.datasets import manifest_path, register_dataset
from conversion.formats import FormatError, open_matrix
from conversion.formats.l1000 import (
    annotate_compounds,
    landmark_positions,
    normalise_profile_metadata,
    read_compound_info,
    read_gene_info,
    read_inst_info,
)
from conversion.formats.multi import MultiReader, manifest_for
from conversion.formats.validate import validate_matrix
from conversion.models import DatasetInUse, DatasetKind
from conversion.models import Gene, GeneStatus
from l1kweb.paths import PathNotAllowed, check_name


class Command(BaseCommand):
    help = (
        "Check and register LEVEL3_FILE (GCTX or GCT) as a dataset: values finite and log2-scale, all landmark genes present, "
        "one metadata row per profile (from --inst-info or the file's own column metadata), compound targets and mechanisms "
        "from --compound-info. Several files (LINCS 2020: the ctl file and trt_* files) make one dataset, their columns read "
        "in the order given, through a manifest written to DATA_DIR/datasets/NAME.l1kset.json. Re-running updates the same dataset."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "level3_files", nargs="+", metavar="LEVEL3_FILE",
            help="A Level 3 GCTX or GCT file; several files with the same genes make one dataset (needs --name).",
        )
        parser.add_argument("--inst-info", help="GEO inst_info (Phase I), instinfo (Phase II) or LINCS 2020 instinfo_beta TSV.")
        parser.add_argument(
            "--gene-info", help="GEO gene_info or LINCS 2020 geneinfo_beta TSV; its genes are also imported into the gene registry."
        )
        parser.add_argument(
            "--compound-info", help="LINCS 2020 compoundinfo_beta TSV: targets and mechanisms of action joined onto the profiles by pert_id."
        )
        parser.add_argument("--name", help="Dataset name (a slug); defaults to the file name.")
        parser.add_argument("--chunk-size", type=int, default=10_000, help="Profiles per read while validating.")
        parser.add_argument("--description", default="")

    def handle(self, *args, level3_files, inst_info=None, gene_info=None, compound_info=None, name=None, chunk_size, description, **options):
        paths = [Path(p) for p in level3_files]
        if len(paths) > 1 and not name:
            raise CommandError(f"{len(paths)} Level 3 files make one dataset: name it with --name.")
        name = name or slugify(paths[0].name.split(".")[0]) or "l1000"
        try:
            self._handle(paths, inst_info, gene_info, compound_info, name, chunk_size, description)
        except (FormatError, DatasetInUse, PathNotAllowed) as exc:
            raise CommandError(str(exc)) from exc

    def _handle(self, paths, inst_info, gene_info, compound_info, name, chunk_size, description):
        landmarks, source = None, None
        compounds = read_compound_info(compound_info) if compound_info else None  # read first: a bad table fails before the long check
        if gene_info:
            genes = read_gene_info(gene_info)
            landmarks, source = genes.loc[genes.pr_is_lm, "pr_gene_id"].tolist(), f"gene_info {gene_info}"
        elif Gene.objects.filter(status=GeneStatus.LANDMARK).exists():
            landmarks = list(Gene.objects.filter(status=GeneStatus.LANDMARK).order_by("entrez_id").values_list("entrez_id", flat=True))
            source = "the gene registry"

        own_wanted = compounds is not None and not inst_info
        if len(paths) == 1:
            manifest, path = None, paths[0]
            with open_matrix(path) as reader:
                self._check(reader, path, landmarks, source, chunk_size)
                col_ids = reader.col_ids
                own_metadata = reader.col_meta.reset_index(drop=True) if own_wanted else None
        else:
            path = manifest_path(check_name(name, what="Dataset name"))
            # Stat-ed and checked (same genes in the same order, no column id twice) before the long
            # value checks, so that a member changed while they run is refused below.
            manifest = manifest_for(paths, manifest_path=path, relative_to=settings.DATA_DIR)
            for member in paths:
                with open_matrix(member) as reader:
                    self._check(reader, member, landmarks, source, chunk_size)
            with MultiReader(manifest, path=path) as reader:
                self.stdout.write(f"{len(paths)} files make one dataset of {reader.shape[0]} profiles x {reader.shape[1]} genes, columns in that order.")
                col_ids = reader.col_ids
                own_metadata = reader.col_meta.reset_index(drop=True) if own_wanted else None

        metadata = read_inst_info(inst_info, inst_ids=col_ids) if inst_info else None
        if compounds is not None:
            if metadata is None:  # the file's own column metadata, as register_dataset would read it
                metadata = normalise_profile_metadata(own_metadata, path=path, ids=col_ids)
                metadata["inst_id"] = list(map(str, col_ids))
            metadata = annotate_compounds(metadata, compounds)
            self.stdout.write(self._compound_line(metadata, compounds, compound_info))
        dataset = register_dataset(name, path, kind=DatasetKind.L1000, metadata=metadata, description=description, manifest=manifest)
        self.stdout.write(f"Metadata from {'the inst_info table ' + str(inst_info) if inst_info else 'the file itself'}: written to {dataset.metadata_path}.")
        if manifest is not None:
            self.stdout.write(f"Manifest of the {len(paths)} files: written to {dataset.path}.")

        if gene_info:
            from conversion.registry import import_gene_info

            for line in import_gene_info(gene_info).lines():
                self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"Dataset '{dataset.name}' registered: {dataset.n_profiles} profiles x {dataset.n_genes} genes."))

    def _check(self, reader, path, landmarks, source, chunk_size) -> None:
        """One Level 3 file: its landmark genes (by Entrez id) and every value (finite, log2-scale)."""
        n_profiles, n_genes = reader.shape
        self.stdout.write(f"{path}: {n_profiles} profiles x {n_genes} genes.")
        if landmarks is not None:
            landmark_positions(reader.row_meta, landmarks, path=path)
            self.stdout.write(f"All {len(landmarks)} landmark genes of {source} are present (matched by Entrez id).")
        else:
            self.stdout.write(self.style.WARNING("No gene_info given and no landmarks in the registry: landmark genes not checked."))
        with tqdm(total=n_profiles, desc="Checking values", unit=" profiles") as bar:
            summary = validate_matrix(reader, chunk_size=chunk_size, progress=bar.update)
        self.stdout.write(f"Values are finite and log2-scale: min {summary.min:.2f}, max {summary.max:.2f}, mean {summary.mean:.2f}.")

    @staticmethod
    def _compound_line(metadata, compounds, compound_info) -> str:
        known = set(compounds.pert_id)
        on_plates = metadata.loc[metadata.pert_type == "trt_cp", "pert_id"].dropna()
        annotated = on_plates.isin(known)
        return (
            f"Compound annotations from {compound_info}: {int(annotated.sum())} of {len(on_plates)} compound profiles "
            f"({on_plates[annotated].nunique()} of {on_plates.nunique()} compounds) are in the table."
        )
