"""The index's top-list query, compiled once per shape, returns what the ORM's queryset returns for every gene and list."""

import pytest

from search.compiled_query import CompiledQuery
from signatures.models import GeneTopEntry

pytestmark = pytest.mark.django_db


def _queryset(release, gene_id, types, directions):
    return (
        GeneTopEntry.objects.filter(top_cd=True).filter(release_id=release.pk).filter(gene_id=gene_id).filter(pert_type__in=types).filter(direction__in=directions)
        .values_list("pert_type", "direction", "cd", "logfc", "rank", "signature__sig_id", "signature__cell_line__name", "signature__dose")
        .order_by("signature__column", "direction")
    )


def test_rows_of_each_call_equal_the_querysets(world):
    compiled = CompiledQuery()
    release = world.release
    calls = 0
    for gene in world.genes.values():
        for types, directions in ((["crispr"], ["up"]), (["chemical", "crispr"], ["down", "up"]), (["chemical"], ["down"])):
            shape = (len(types), len(directions))
            rows = compiled.rows(shape, lambda: _queryset(release, gene.pk, types, directions), (release.pk, gene.pk, *types, *directions))
            assert rows == list(_queryset(release, gene.pk, types, directions))
            calls += bool(rows)
    assert calls > 10 and len(compiled._sql) == 2  # (1, 1) compiled once for two lists


def test_parameters_in_another_order_than_the_querys_are_refused(world):
    release, gene = world.release, world.genes["STAT3"]
    with pytest.raises(ValueError, match="not the"):
        CompiledQuery().rows((1, 1), lambda: _queryset(release, gene.pk, ["crispr"], ["up"]), (gene.pk, release.pk, "crispr", "up"))


def test_the_gene_lookup_by_symbol_returns_the_orms_genes_field_for_field(world):
    from django.db.models.functions import Upper

    from conversion.models import Gene
    from search.lookup import _genes_by_symbol

    Gene.objects.create(entrez_id=990001, symbol="stat3", name="a second gene spelled STAT3 in another case", status="other")
    for names in (["STAT3"], ["TP53", "MYC", "NOSUCH"], ["CDKN1A"], ["NOSUCH"]):
        ours = _genes_by_symbol(names)
        orm = list(Gene.objects.annotate(u=Upper("symbol")).filter(u__in=names).order_by("pk"))
        assert [(u, [getattr(g, f.attname) for f in Gene._meta.concrete_fields]) for u, g in ours] == [
            (g.u, [getattr(g, f.attname) for f in Gene._meta.concrete_fields]) for g in orm
        ]
        assert all(not g._state.adding and g.get_status_display() for _, g in ours)
    assert len(_genes_by_symbol(["STAT3"])) == 2


def test_signatures_at_columns_equal_the_orms_rows(world):
    from search.query import signature_rows, signatures_at
    from signatures.models import Signature

    release = world.release
    n = len(world.signatures)
    for columns in ([0], [1, 5, 9], list(range(0, n, 2)), [3, 4], [n - 1]):
        expected = {s.column: s for s in signature_rows(Signature.objects.filter(release=release, column__in=columns))}
        assert signatures_at(release, columns) == expected and len(expected) == len(columns)
    assert signatures_at(release, []) == {}


def test_any_of_selects_what_in_selects_with_one_statement_for_every_count(world):
    from django.db import connection

    from search.compiled_query import any_of_params
    from signatures.models import Signature

    release = world.release
    pks = sorted(Signature.objects.filter(release=release).values_list("pk", flat=True))
    sqls = set()
    for keys in (pks[:1], pks[::3], pks[1:4], pks[-2:] + [max(pks) + 10**6]):
        queryset = Signature.objects.filter(release=release).filter(pk__any_of=keys)
        assert sorted(queryset.values_list("pk", flat=True)) == sorted(Signature.objects.filter(release=release, pk__in=keys).values_list("pk", flat=True))
        sql, params = queryset.values_list("pk").query.sql_with_params()
        assert tuple(params) == (release.pk, *any_of_params(keys))
        sqls.add(sql)
    assert len(sqls) == (1 if connection.vendor == "postgresql" else 4)
