"""Top-list rows whose CD has the other sign (kept by the index for log2FC lists) never change a result."""

import pytest

from search.query import SearchParams, run_lists
from signatures.models import GeneTopEntry
from tests.search.factories import gene_ranks_up, reference_list

pytestmark = pytest.mark.django_db


def test_up_list_by_logfc_ignores_a_negative_cd_row_and_stays_exact(world):
    gene = world.genes["TP53"]
    gi = world.column_of("TP53")
    chem = [s.column for s in world.signatures if s.pert_type == "chemical"]
    negative = next(c for c in chem if world.cd[c, gi] < 0)
    expected = reference_list(world.cd[:, gi], world.logfc[:, gi], gene_ranks_up(world.cd)[:, gi], chem, len(world.gene_ids), direction="up", metric="logfc")
    # As the index builder does, the other-sign row displaces the weakest row of the full list.
    GeneTopEntry.objects.filter(release=world.release, gene_id=gene.pk, pert_type="chemical", direction="up", signature=world.signatures[expected[world.top_n - 1]]).delete()
    GeneTopEntry.objects.create(
        release=world.release, gene_id=gene.pk, pert_type="chemical", direction="up", signature=world.signatures[negative],
        cd=float(world.cd[negative, gi]), logfc=99.0, rank=1, top_logfc=True,
    )
    for limit, source in ((3, "index"), (world.top_n, "store")):
        (hl,) = run_lists(world.release, gene, SearchParams(metric="logfc", limit=limit), [(("chemical",), "up")])
        assert hl.source == source
        assert [h.signature.column for h in hl.hits] == expected[:limit]
