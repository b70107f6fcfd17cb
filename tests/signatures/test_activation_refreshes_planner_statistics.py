"""Activation refreshes PostgreSQL's statistics of the rows a release loaded by COPY, so its first queries are planned on them."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from signatures.models import GeneTopEntry, Release, Signature
from tests.signatures.factories import tiny_l1000_dataset

pytestmark = pytest.mark.django_db


def _planner_rows(model) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [model._meta.db_table])
        return cursor.fetchone()[0]


def test_activation_analyzes_the_signature_and_index_tables(tiny_world):
    dataset = tiny_l1000_dataset(tiny_world)
    call_command("compute_signatures", dataset.name, "--release", "fresh", "--inline", stdout=StringIO(), stderr=StringIO())
    release = Release.objects.get(name="fresh")
    n_sigs, n_entries = Signature.objects.count(), GeneTopEntry.objects.count()
    assert n_sigs and n_entries
    with CaptureQueriesContext(connection) as queries:
        release.activate()
    analyzed = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("ANALYZE")]
    assert analyzed == [f'ANALYZE "{Signature._meta.db_table}"', f'ANALYZE "{GeneTopEntry._meta.db_table}"']
    assert (_planner_rows(Signature), _planner_rows(GeneTopEntry)) == (n_sigs, n_entries)
