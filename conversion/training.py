"""Training a translator from files, shared by the `train_translator` command and the TrainingJob task.

The numerics live in conversion.translator (no Django); this module adds what
needs the database: the gene registry as the ARCHS4-to-Entrez join when no
NCBI gene_info file is given.
"""

import shutil
from collections import defaultdict
from pathlib import Path

from conversion.translator.bundle import Bundle
from conversion.translator.config import TranslatorConfig
from conversion.formats.ncbi import GeneMap
from conversion.translator.data import MIN_COUNT, MIN_SAMPLE_FRACTION, load_training_data, read_entrez_list
from conversion.translator.train import train_two_step


class RegistryEmpty(ValueError):
    pass


def gene_map_from_registry() -> GeneMap:
    """The GeneMap of the gene registry (conversion.Gene / GeneAlias), built by the same rule as from an NCBI file."""
    from conversion.models import AliasKind, Gene, GeneAlias

    genes = list(Gene.objects.order_by("entrez_id").values_list("entrez_id", "symbol", "ensembl_id"))
    if not genes:
        raise RegistryEmpty("The gene registry is empty: run import_genes first, or give an NCBI Homo_sapiens.gene_info file.")
    ensembl: dict[int, list[str]] = defaultdict(list)
    synonyms: dict[int, list[str]] = defaultdict(list)
    for alias, entrez, kind in GeneAlias.objects.values_list("alias", "gene_id", "kind"):
        (ensembl if kind == AliasKind.ENSEMBL else synonyms)[entrez].append(alias)
    return GeneMap.build((e, symbol, [primary, *ensembl[e]] if primary else ensembl[e], synonyms[e]) for e, symbol, primary in genes)


def train_from_files(
    *,
    l1000,
    rnaseq,
    out: Path,
    config: TranslatorConfig,
    version: str,
    gene_info=None,
    landmarks=None,
    output_genes=None,
    max_l1000: int | None = 200_000,
    max_rnaseq: int | None = 50_000,
    min_count: float = MIN_COUNT,
    min_sample_fraction: float = MIN_SAMPLE_FRACTION,
    seed: int = 0,
    device: str = "auto",
    checkpoint_dir: Path | None = None,
    progress=None,
    say=None,
) -> Bundle:
    """Read the training files, train both steps (resuming from checkpoints), write the bundle at `out`.

    Checkpoints go to checkpoint_dir (default `<out>.ckpt/`) and are removed once the bundle is written.
    """
    say = say or (lambda message: None)
    data = load_training_data(
        l1000, rnaseq, gene_info or gene_map_from_registry(),
        landmark_entrez_ids=read_entrez_list(landmarks) if landmarks else None,
        output_entrez_ids=read_entrez_list(output_genes) if output_genes else None,
        max_l1000=max_l1000, max_rnaseq=max_rnaseq, min_count=min_count, min_sample_fraction=min_sample_fraction, seed=seed, progress=say,
    )
    say(
        f"{len(data.l1000)} L1000 and {len(data.rnaseq)} RNA-seq profiles; {len(data.landmark_entrez_ids)} landmark "
        f"-> {len(data.output_entrez_ids)} output genes; size {config.size}, device {device}."
    )
    out = Path(out)
    checkpoint_dir = checkpoint_dir or out.with_name(f"{out.name}.ckpt")
    bundle = train_two_step(data, config, version=version, device=device, checkpoint_dir=checkpoint_dir, progress=progress)
    bundle.save(out)
    # The checkpoints only serve a resume after an interruption; at paper size they are GBs.
    shutil.rmtree(checkpoint_dir, ignore_errors=True)
    return bundle
