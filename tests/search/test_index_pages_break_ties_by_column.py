"""A page read from the top lists orders tied entries by store column, across the page boundary too, and pages
through the list without losing or repeating an entry."""

import pytest

from conversion.models import Gene
from search.query import SearchParams, run_lists
from signatures.models import GeneTopEntry

pytestmark = pytest.mark.django_db


def _tie(world, symbol, direction, metric_field, every):
    """Give every `every`-th entry of the gene's chemical top list in `direction` the same value as its neighbour."""
    gene = Gene.objects.get(symbol=symbol)
    entries = list(GeneTopEntry.objects.filter(release=world.release, gene=gene, pert_type="chemical", direction=direction, top_cd=True).order_by("-cd" if direction == "up" else "cd"))
    for i in range(1, len(entries), every):
        setattr(entries[i], metric_field, getattr(entries[i - 1], metric_field))
        entries[i].save(update_fields=[metric_field])
    return gene


def _reference(world, gene, direction):
    """The list by a plain sort of its rows: CD in the list's direction, then store column."""
    rows = GeneTopEntry.objects.filter(release=world.release, gene=gene, pert_type="chemical", direction=direction, top_cd=True).select_related("signature")
    sign = -1 if direction == "up" else 1
    return [e.signature.sig_id for e in sorted(rows, key=lambda e: (sign * e.cd, e.signature.column))]


@pytest.mark.parametrize("direction", ["up", "down"])
@pytest.mark.parametrize("every", [2, 3])
def test_tied_entries_keep_the_reference_order_on_every_page(world, direction, every):
    gene = _tie(world, "STAT3", direction, "cd", every)
    expected = _reference(world, gene, direction)
    assert len(expected) >= 6 and len(set(expected)) == len(expected)
    top_n = world.release.params["top_n"]  # pages within the top lists are read from the index
    for limit in (1, 2, 3, 4):
        shown = []
        for offset in range(0, min(len(expected), top_n) - limit + 1, limit):
            (hl,) = run_lists(world.release, gene, SearchParams(types=("chemical",), direction=direction, limit=limit, offset=offset), [(("chemical",), direction)])
            assert hl.source == "index"
            assert [h.position for h in hl.hits] == list(range(offset + 1, offset + 1 + len(hl.hits)))
            shown += [h.signature.sig_id for h in hl.hits]
        assert shown == expected[: len(shown)] and len(shown) > top_n // 2, (limit, every)
