"""Importing CMap and NCBI gene tables fills the registry once; re-running changes nothing."""

import pandas as pd
import pytest

from conversion.models import AliasKind, Gene, GeneAlias, GeneStatus
from conversion.registry import import_gene_info, mark_model_output
from search.lookup import resolve as lookup


def resolve(query):
    return lookup(query, suggest=False).gene

pytestmark = pytest.mark.django_db


def test_import_creates_genes_with_statuses_and_aliases(tiny_world):
    summary = import_gene_info(tiny_world["gene_info"], ncbi_path=tiny_world["ncbi_gene_info"], output_entrez_ids=tiny_world["output_entrez_ids"])
    ncbi = pd.read_csv(tiny_world["ncbi_gene_info"], sep="\t", dtype=str)
    assert summary.genes == Gene.objects.count() == len(ncbi)
    assert summary.created == len(ncbi) and summary.changed == 0
    assert Gene.objects.filter(status=GeneStatus.LANDMARK).count() == len(tiny_world["landmark_entrez_ids"]) == summary.landmarks
    assert Gene.objects.filter(status=GeneStatus.INFERRED).count() == summary.inferred == 100
    assert Gene.objects.filter(in_model_output=True).count() == len(tiny_world["output_entrez_ids"])
    assert Gene.objects.filter(status=GeneStatus.MODEL_ONLY).count() == 600 - 200  # output genes L1000 never measured or inferred
    assert Gene.objects.filter(status=GeneStatus.OTHER).count() == len(ncbi) - 600
    assert Gene.objects.exclude(ensembl_id__startswith="ENSG").count() == 0
    assert summary.unmatched_landmarks == []
    assert GeneAlias.objects.filter(kind=AliasKind.PREVIOUS).count() >= 2


def test_a_second_import_reports_and_changes_nothing(tiny_world):
    args = dict(ncbi_path=tiny_world["ncbi_gene_info"], output_entrez_ids=tiny_world["output_entrez_ids"])
    import_gene_info(tiny_world["gene_info"], **args)
    before = list(Gene.objects.order_by("entrez_id").values_list()), list(GeneAlias.objects.order_by("id").values_list())
    again = import_gene_info(tiny_world["gene_info"], **args)
    after = list(Gene.objects.order_by("entrez_id").values_list()), list(GeneAlias.objects.order_by("id").values_list())
    assert (again.created, again.changed, again.aliases_created) == (0, 0, 0)
    assert again.unchanged == again.genes
    assert before == after


def test_outdated_cmap_symbols_resolve_to_the_current_gene(tiny_world):
    import_gene_info(tiny_world["gene_info"], ncbi_path=tiny_world["ncbi_gene_info"])
    cmap = pd.read_csv(tiny_world["gene_info"], sep="\t")
    for entrez_id, old_symbol in zip(cmap.pr_gene_id, cmap.pr_gene_symbol):
        gene = Gene.objects.get(pk=entrez_id)
        if gene.symbol != old_symbol:
            assert GeneAlias.objects.get(gene=gene, alias=old_symbol).kind == AliasKind.PREVIOUS
            assert resolve(old_symbol.lower()) == gene


def test_resolve_accepts_symbol_entrez_and_ensembl_in_any_case(tiny_world):
    import_gene_info(tiny_world["gene_info"], ncbi_path=tiny_world["ncbi_gene_info"])
    gene = Gene.objects.filter(status=GeneStatus.LANDMARK).first()
    assert resolve(gene.symbol.lower()) == gene
    assert resolve(str(gene.entrez_id)) == gene
    assert resolve(gene.ensembl_id.lower() + ".7") == gene
    assert resolve("NOSUCHGENE1") is None


def test_landmarks_missing_from_ncbi_are_reported_by_name(tmp_path):
    cmap = tmp_path / "gene_info.tsv"
    cmap.write_text("pr_gene_id\tpr_gene_symbol\tpr_gene_title\tpr_is_lm\tpr_is_bing\n5720\tPSME1\tproteasome\t1\t1\n9999999\tOLDGENE\tgone\t1\t1\n")
    ncbi = tmp_path / "Homo_sapiens.gene_info"
    ncbi.write_text(
        "#tax_id\tGeneID\tSymbol\tLocusTag\tSynonyms\tdbXrefs\tchromosome\tmap_location\tdescription\n"
        "9606\t5720\tPSME1\t-\tIFI5111|PA28A\tMIM:600654|Ensembl:ENSG00000092010\t14\t14q12\tproteasome activator subunit 1\n"
    )
    summary = import_gene_info(cmap, ncbi_path=ncbi)
    assert summary.unmatched_landmarks == [(9999999, "OLDGENE")]
    assert "OLDGENE (9999999)" in " ".join(summary.lines())
    assert Gene.objects.get(pk=9999999).status == GeneStatus.LANDMARK  # kept, never silently dropped
    assert set(GeneAlias.objects.filter(gene_id=5720).values_list("alias", flat=True)) == {"IFI5111", "PA28A"}


def test_marking_model_output_sets_model_only_status(tiny_world):
    import_gene_info(tiny_world["gene_info"], ncbi_path=tiny_world["ncbi_gene_info"])
    assert Gene.objects.filter(status=GeneStatus.MODEL_ONLY).count() == 0
    n = mark_model_output(tiny_world["output_entrez_ids"])
    assert n == len(tiny_world["output_entrez_ids"])
    assert Gene.objects.filter(status=GeneStatus.MODEL_ONLY).count() == 400


def test_a_cmap_table_alone_never_renames_genes_known_from_ncbi(tiny_world):
    import_gene_info(tiny_world["gene_info"], ncbi_path=tiny_world["ncbi_gene_info"], output_entrez_ids=tiny_world["output_entrez_ids"])
    before = list(Gene.objects.order_by("entrez_id").values_list())
    again = import_gene_info(tiny_world["gene_info"])  # as import_l1000 --gene-info does
    assert again.changed == 0
    assert list(Gene.objects.order_by("entrez_id").values_list()) == before


def test_the_registry_joins_genes_by_the_same_rule_as_the_ncbi_file(tiny_world, tmp_path):
    from conversion.formats.ncbi import read_gene_map
    from conversion.training import gene_map_from_registry

    ncbi = tmp_path / "Homo_sapiens.gene_info"
    ncbi.write_text(
        "#tax_id\tGeneID\tSymbol\tLocusTag\tSynonyms\tdbXrefs\tchromosome\tmap_location\tdescription\n"
        "9606\t1\tAAA\t-\tSHARED|ONLYA|BBB\tEnsembl:ENSG01|Ensembl:ENSG02\t1\t-\tfirst\n"
        "9606\t2\tBBB\t-\tSHARED\tEnsembl:ENSG02\t1\t-\tsecond\n"
        "9606\t3\tCCC\t-\t-\t-\t1\t-\tthird\n"
        "10090\t4\tMOUSE\t-\t-\t-\t1\t-\tnot human\n"
    )
    from_file = read_gene_map(ncbi)
    assert from_file.entrez("ONLYA") == "1"
    assert from_file.entrez("SHARED") is None  # a synonym of two genes names neither
    assert from_file.entrez("BBB") == "2"  # a current symbol wins over another gene's synonym
    assert from_file.entrez("", "ENSG02.4") == "1"  # an Ensembl id keeps its first gene
    assert from_file.entrez("MOUSE") is None
    import_gene_info(ncbi)
    assert gene_map_from_registry() == from_file

    Gene.objects.all().delete()
    import_gene_info(tiny_world["ncbi_gene_info"])
    assert gene_map_from_registry() == read_gene_map(tiny_world["ncbi_gene_info"])
