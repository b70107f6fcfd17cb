"""Load the gene registry from CMap gene_info and/or NCBI Homo_sapiens.gene_info (idempotent)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from conversion.formats.errors import FormatError
from conversion.registry import import_gene_info


class Command(BaseCommand):
    help = "Import genes, aliases and previous symbols: GENE_INFO (CMap gene_info or NCBI gene_info) [--ncbi FILE]."

    def add_arguments(self, parser):
        parser.add_argument("gene_info", help="CMap gene_info TSV (pr_gene_id, pr_gene_symbol, pr_is_lm, ...) or an NCBI gene_info file.")
        parser.add_argument("--ncbi", help="NCBI Homo_sapiens.gene_info(.gz): current symbols, synonyms, Ensembl ids.")
        parser.add_argument("--output-genes", help="The translator's output genes: one Entrez id per line.")

    def handle(self, *args, gene_info, ncbi=None, output_genes=None, **options):
        outputs = None
        if output_genes:
            outputs = _read_ids(Path(output_genes))
        with tqdm(desc="NCBI genes", unit=" rows", disable=ncbi is None and "GeneID" not in _first_line(gene_info)) as bar:
            try:
                summary = import_gene_info(gene_info, ncbi_path=ncbi, output_entrez_ids=outputs, progress=bar.update)
            except FormatError as exc:
                raise CommandError(str(exc)) from exc
        for line in summary.lines():
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS("Gene registry up to date."))


def _first_line(path) -> str:
    try:
        with open(path, "rb") as fh:
            return fh.readline().decode("latin-1")
    except OSError as exc:
        raise CommandError(f"Gene table {path} cannot be read: {exc.strerror}.") from exc


def _read_ids(path: Path) -> list[int]:
    try:
        lines = [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    except OSError as exc:
        raise CommandError(f"Output gene list {path} cannot be read: {exc.strerror}.") from exc
    bad = [line for line in lines if not line.isdigit()]
    if bad:
        raise CommandError(f"Output gene list {path}: expected one Entrez id per line, found {bad[0]!r}.")
    return [int(line) for line in lines]
