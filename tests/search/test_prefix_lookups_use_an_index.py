"""The autocomplete's prefix matches are served by an index on PostgreSQL, whatever the collation."""

import pytest
from django.db import connection
from django.db.models.functions import Upper

from conversion.models import Gene, GeneAlias

pytestmark = pytest.mark.django_db


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table: ask what an index can serve
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the pattern-ops indexes are PostgreSQL's")
def test_symbol_and_alias_prefix_matches_use_the_pattern_ops_indexes():
    with connection.cursor() as cursor:
        cursor.execute("SHOW lc_collate")
        collation = cursor.fetchone()[0]
    genes = Gene.objects.bulk_create([Gene(entrez_id=i, symbol=f"G{i}") for i in range(1, 2001)])
    GeneAlias.objects.bulk_create([GeneAlias(gene=g, alias=f"A{g.entrez_id}") for g in genes])
    symbol_plan = _plan(Gene.objects.annotate(u=Upper("symbol")).filter(u__startswith="G12"))
    alias_plan = _plan(GeneAlias.objects.annotate(u=Upper("alias")).filter(u__startswith="A12"))
    assert "gene_symbol_upper_prefix" in symbol_plan or (collation == "C" and "gene_symbol_upper" in symbol_plan), symbol_plan
    assert "gene_alias_upper_prefix" in alias_plan or (collation == "C" and "gene_alias_upper" in alias_plan), alias_plan
