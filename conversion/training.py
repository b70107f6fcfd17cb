"""Training a translator from files, shared by the `train_translator` command and the TrainingJob task.

The numerics live in conversion.translator (no Django); this module adds what
needs the database: the gene registry as the ARCHS4-to-Entrez join when no
NCBI gene_info file is given.
"""

import shutil
from pathlib import Path

from conversion.translator.bundle import Bundle
from conversion.translator.config import TranslatorConfig
from conversion.translator.data import GeneMap, load_training_data, read_entrez_list
from conversion.translator.train import train_two_step


class RegistryEmpty(ValueError):
    pass


def gene_map_from_registry() -> GeneMap:
    """The same joins as read_gene_map, from the gene registry (conversion.Gene / GeneAlias) in the database."""
    from conversion.models import AliasKind, Gene, GeneAlias

    genes = list(Gene.objects.values_list("entrez_id", "symbol", "ensembl_id"))
    if not genes:
        raise RegistryEmpty("The gene registry is empty: run import_genes first, or give an NCBI Homo_sapiens.gene_info file.")
    symbol_of = {str(e): s for e, s, _ in genes}
    by_symbol = {s: str(e) for e, s, _ in genes}
    by_ensembl = {ens: str(e) for e, _, ens in genes if ens}
    owners: dict[str, set[str]] = {}
    for alias, entrez, kind in GeneAlias.objects.values_list("alias", "gene_id", "kind"):
        if kind == AliasKind.ENSEMBL:
            by_ensembl.setdefault(alias, str(entrez))
        else:
            owners.setdefault(alias, set()).add(str(entrez))
    # A synonym shared by several genes identifies none of them.
    by_synonym = {a: next(iter(ids)) for a, ids in owners.items() if len(ids) == 1 and a not in by_symbol}
    return GeneMap(symbol_of, by_ensembl, by_symbol, by_synonym)


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
        max_l1000=max_l1000, max_rnaseq=max_rnaseq, seed=seed, progress=say,
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
