"""GET /api/table/{cp|xpr}/{up|down}/{gene}: the existing reverse-search tool's column-object JSON."""

import pytest

from tests.search.factories import gene_ranks_up, reference_list

pytestmark = pytest.mark.django_db


def test_crispr_down_table_has_the_tools_columns_keyed_by_signature_id(client, world):
    r = client.get("/api/table/xpr/down/STAT3")
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["KO Gene", "Dose", "Timepoint", "Cell Line", "Rank in Signature", "Log2(Fold Change)", "CD Coefficient", "Fold Change"]
    gi = world.column_of("STAT3")
    cols = [s.column for s in world.signatures if s.pert_type == "crispr"]
    expected = [world.signatures[c].sig_id for c in reference_list(world.cd[:, gi], world.logfc[:, gi], gene_ranks_up(world.cd)[:, gi], cols, len(world.gene_ids), direction="down", metric="cd")]
    assert list(body["CD Coefficient"]) == expected  # exact: the default 100 rows reach past the 8-row index
    for sig in expected:
        c = next(s.column for s in world.signatures if s.sig_id == sig)
        assert body["CD Coefficient"][sig] == pytest.approx(float(world.cd[c, gi]), abs=1e-6)
        assert body["Fold Change"][sig] == pytest.approx(2 ** body["Log2(Fold Change)"][sig], rel=1e-9)
        assert body["Timepoint"][sig] in ("6 h", "24 h") and body["Dose"][sig] == ""


def test_chemical_table_names_the_perturbagen_and_dose(client, world):
    body = client.get("/api/table/cp/up/TP53", {"limit": 3}).json()
    assert list(body)[0] == "Perturbagen" and len(body["Perturbagen"]) == 3
    assert all(v in ("1 uM", "10 uM") for v in body["Dose"].values())


def test_unknown_kind_direction_or_gene_is_a_404_with_a_message(client, world):
    assert client.get("/api/table/sh/up/TP53").json() == {"detail": "Unknown signature kind 'sh'; expected cp or xpr."}
    assert client.get("/api/table/cp/left/TP53").status_code == 404
    assert client.get("/api/table/cp/up/TP533").json()["detail"].startswith("Unknown gene 'TP533'.")
