"""Register an L1000 Level 3 matrix (GCTX or GCT) as a named dataset, after checking it end to end."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify
from tqdm import tqdm

from conversion.datasets import register_dataset
from conversion.formats import FormatError, open_matrix
from conversion.formats.l1000 import (
    annotate_compounds,
    landmark_positions,
    normalise_profile_metadata,
    read_compound_info,
    read_gene_info,
    read_inst_info,
)
from conversion.formats.validate import validate_matrix
from conversion.models import DatasetInUse, DatasetKind
from conversion.models import Gene, GeneStatus


class Command(BaseCommand):
    help = (
        "Check and register LEVEL3_FILE (GCTX or GCT) as a dataset: values finite and log2-scale, all landmark genes present, "
        "one metadata row per profile (from --inst-info or the file's own column metadata), compound targets and mechanisms "
        "from --compound-info. Re-running updates the same dataset."
    )

    def add_arguments(self, parser):
        parser.add_argument("level3_file")
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

    def handle(self, *args, level3_file, inst_info=None, gene_info=None, compound_info=None, name=None, chunk_size, description, **options):
        path = Path(level3_file)
        name = name or slugify(path.name.split(".")[0]) or "l1000"
        try:
            self._handle(path, inst_info, gene_info, compound_info, name, chunk_size, description)
        except (FormatError, DatasetInUse) as exc:
            raise CommandError(str(exc)) from exc

    def _handle(self, path, inst_info, gene_info, compound_info, name, chunk_size, description):
        landmarks, source = None, None
        compounds = read_compound_info(compound_info) if compound_info else None  # read first: a bad table fails before the long check
        if gene_info:
            genes = read_gene_info(gene_info)
            landmarks, source = genes.loc[genes.pr_is_lm, "pr_gene_id"].tolist(), f"gene_info {gene_info}"
        elif Gene.objects.filter(status=GeneStatus.LANDMARK).exists():
            landmarks = list(Gene.objects.filter(status=GeneStatus.LANDMARK).order_by("entrez_id").values_list("entrez_id", flat=True))
            source = "the gene registry"

        with open_matrix(path) as reader:
            n_profiles, n_genes = reader.shape
            self.stdout.write(f"{path}: {n_profiles} profiles x {n_genes} genes.")
            if landmarks is not None:
                landmark_positions(reader.row_meta, landmarks, path=path)
                self.stdout.write(f"All {len(landmarks)} landmark genes of {source} are present (matched by Entrez id).")
            else:
                self.stdout.write(self.style.WARNING("No gene_info given and no landmarks in the registry: landmark genes not checked."))
            with tqdm(total=n_profiles, desc="Checking values", unit=" profiles") as bar:
                summary = validate_matrix(reader, chunk_size=chunk_size, progress=bar.update)
            col_ids = reader.col_ids
            own_metadata = reader.col_meta.reset_index(drop=True) if compounds is not None and not inst_info else None
        self.stdout.write(f"Values are finite and log2-scale: min {summary.min:.2f}, max {summary.max:.2f}, mean {summary.mean:.2f}.")

        metadata = read_inst_info(inst_info, inst_ids=col_ids) if inst_info else None
        if compounds is not None:
            if metadata is None:  # the file's own column metadata, as register_dataset would read it
                metadata = normalise_profile_metadata(own_metadata, path=path, ids=col_ids)
                metadata["inst_id"] = list(map(str, col_ids))
            metadata = annotate_compounds(metadata, compounds)
            self.stdout.write(self._compound_line(metadata, compounds, compound_info))
        dataset = register_dataset(name, path, kind=DatasetKind.L1000, metadata=metadata, description=description)
        self.stdout.write(f"Metadata from {'the inst_info table ' + str(inst_info) if inst_info else 'the file itself'}: written to {dataset.metadata_path}.")

        if gene_info:
            from conversion.registry import import_gene_info

            for line in import_gene_info(gene_info).lines():
                self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"Dataset '{dataset.name}' registered: {dataset.n_profiles} profiles x {dataset.n_genes} genes."))

    @staticmethod
    def _compound_line(metadata, compounds, compound_info) -> str:
        known = set(compounds.pert_id)
        on_plates = metadata.loc[metadata.pert_type == "trt_cp", "pert_id"].dropna()
        annotated = on_plates.isin(known)
        return (
            f"Compound annotations from {compound_info}: {int(annotated.sum())} of {len(on_plates)} compound profiles "
            f"({on_plates[annotated].nunique()} of {on_plates.nunique()} compounds) are in the table."
        )
