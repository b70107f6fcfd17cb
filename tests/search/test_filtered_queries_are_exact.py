"""With a cell line, dose or time filter the lists are exact over all signatures, never a filtered top 100."""

import html

import pytest
from django.urls import reverse

from tests.search.factories import gene_ranks_up, reference_list

pytestmark = pytest.mark.django_db


def _expected(world, symbol, t, direction, metric, keep):
    gi = world.column_of(symbol)
    cols = [s.column for s in world.signatures if s.pert_type == t and keep(s)]
    return reference_list(world.cd[:, gi], world.logfc[:, gi], gene_ranks_up(world.cd)[:, gi], cols, len(world.gene_ids), direction=direction, metric=metric)


def test_cell_line_filter_lists_every_matching_signature_beyond_the_top_lists(client, world):
    r = client.get(reverse("search:gene", args=["IL6"]), {"cell_line": ["A549", "PC3"], "limit": 1000})
    assert r.status_code == 200
    for section in r.context["sections"]:
        for hl in section["lists"]:
            expected = _expected(world, "IL6", section["type"], hl.direction, "cd", lambda s: s.cell_line.name in ("A549", "PC3"))
            assert hl.source == "store" and hl.total == len(expected)
            assert [h.signature.column for h in hl.hits] == expected
    # The chemical up list with two cell lines is longer than the 8-row index: nothing is lost.
    chem_up = r.context["sections"][1]["lists"][0]
    assert chem_up.total > world.top_n


def test_dose_and_time_filters_match_the_signature_metadata(client, world):
    r = client.get(reverse("search:gene", args=["MYC"]), {"type": "chemical", "dose": "10", "time": "24", "metric": "rank", "direction": "down"})
    (hl,) = r.context["sections"][0]["lists"]
    expected = _expected(world, "MYC", "chemical", "down", "rank", lambda s: s.dose == 10 and s.time == 24)
    assert [h.signature.column for h in hl.hits] == expected
    assert all(h.signature.dose == 10 and h.signature.time == 24 for h in hl.hits)


def test_paging_past_the_top_lists_continues_exactly_from_the_store(client, world):
    r = client.get(reverse("search:gene", args=["STAT3"]), {"type": "chemical", "direction": "up", "limit": 4, "offset": 6})
    (hl,) = r.context["sections"][0]["lists"]
    expected = _expected(world, "STAT3", "chemical", "up", "cd", lambda s: True)
    assert hl.source == "store"
    assert [h.signature.column for h in hl.hits] == expected[6:10]


def test_gene_outside_the_model_output_has_no_hits_rather_than_an_error(client, world):
    r = client.get(reverse("search:gene", args=["NOTOUT1"]), {"cell_line": "A549"})
    assert r.status_code == 200
    assert all(not hl.hits for s in r.context["sections"] for hl in s["lists"])
    assert "not among the model's output genes" in html.unescape(r.content.decode())


def signature_filter(release, params, types) -> dict:
    """The same filters as Signature.objects.filter() arguments: what the column table must select."""
    from search.query import _tolerance, release_facets

    facets = release_facets(release)
    where = {"release": release, "pert_type__in": list(types)}
    if params.cell_lines:
        where["cell_line_id__in"] = [facets.cell_lines[c][0] for c in params.cell_lines]
    for name in ("dose", "time"):
        value = getattr(params, name)
        if value is not None:
            lo, hi = _tolerance(value)
            where[f"{name}__gte"], where[f"{name}__lte"] = lo, hi
    return where


@pytest.mark.parametrize(
    "types, cell_lines, dose, time",
    [
        (("chemical",), (), None, None),
        (("chemical", "crispr"), ("A549", "PC3"), None, None),
        (("chemical",), (), 10.0, None),
        (("chemical", "crispr"), (), None, 24.0),
        (("crispr",), ("MCF7",), 10.0, None),  # knockouts have no dose: nothing matches
        (("chemical", "crispr"), ("A375",), 1.0, 6.0),
        (("chemical",), (), 10.0 * (1 + 5e-7), None),  # within the stored value's tolerance
        (("chemical",), (), 10.0 * (1 + 5e-6), None),  # outside it
    ],
)
def test_the_column_table_selects_what_the_database_filter_selects(world, types, cell_lines, dose, time):
    from search.query import SearchParams, column_table, release_facets
    from signatures.models import Signature

    params = SearchParams(types=types, cell_lines=cell_lines, dose=dose, time=time)
    columns, codes = column_table(world.release).select(params, types, release_facets(world.release))
    rows = sorted(Signature.objects.filter(**signature_filter(world.release, params, types)).values_list("column", "pert_type"))
    assert columns.tolist() == [c for c, _ in rows]
    assert [column_table(world.release).types[c] for c in codes] == [t for _, t in rows]
