"""The REST API: lookup, gene, ranked signatures with paging, signature metadata, facets, schema and docs."""

import pytest
from django.urls import reverse
from rest_framework.throttling import AnonRateThrottle

from signatures.models import PertType
from tests.search.factories import gene_ranks_up, reference_list

pytestmark = pytest.mark.django_db

HIT_FIELDS = {
    "position", "sig_id", "pert_type", "pert_id", "perturbagen", "cell_line", "dose", "dose_unit", "time", "time_unit", "batch",
    "n_replicates", "n_controls", "cd", "log2fc", "fold_change", "rank_in_signature", "discordant",
    "controls", "target_gene", "pert_targets", "pert_moa", "self_target", "signature_url",
}


def test_lookup_returns_prefix_matches_and_the_exact_gene(client, world):
    r = client.get("/api/genes/", {"q": "sarp1"})
    assert r.status_code == 200
    body = r.json()
    assert body["exact"]["symbol"] == "SFRP2" and body["exact"]["matched"] == "synonym"
    assert [g["symbol"] for g in body["results"]] == ["SFRP2"]
    assert client.get("/api/genes/").json() == {"detail": "Parameter 'q' is required: a gene symbol, alias or Entrez id (or its beginning)."}


def test_gene_detail_by_alias_names_the_gene_and_what_matched(client, world):
    body = client.get("/api/genes/P21/").json()
    assert body == {
        "entrez_id": 1026, "symbol": "CDKN1A", "name": "CDKN1A protein", "status": "inferred", "status_label": "Inferred by CMap",
        "status_note": "inferred by CMap from the landmarks; values shown are the model's RNA-seq-like predictions", "in_model_output": True, "searched": "P21", "matched": "synonym", "aliases": ["CIP1", "P21"],
    }
    r = client.get("/api/genes/ISGF-3/")
    assert r.status_code == 400 and "STAT1" in r.json()["detail"] and "STAT4" in r.json()["detail"]


def test_signatures_are_ranked_as_the_reference_and_page_with_next_links(client, world):
    url = reverse("search:api-gene-signatures", args=["TP53"])
    body = client.get(url, {"type": "chemical", "direction": "down", "metric": "logfc", "limit": 3}).json()
    gi = world.column_of("TP53")
    cols = [s.column for s in world.signatures if s.pert_type == "chemical"]
    expected = reference_list(world.cd[:, gi], world.logfc[:, gi], gene_ranks_up(world.cd)[:, gi], cols, len(world.gene_ids), direction="down", metric="logfc")
    assert body["source"] == "index" and body["count"] == 3
    assert body["release"] == {
        "name": "r1", "model_version": "two-step 1.0 (tiny)", "dataset": "ds-r1", "controls": "all", "gamma": 1.0, "min_replicates": 2,
        "precision": "fp32", "device": "cpu", "stored_as": "float32",
    }
    assert body["query"] == {"type": ["chemical"], "direction": "down", "metric": "logfc", "cell_line": [], "dose": None, "time": None, "limit": 3, "offset": 0}
    assert set(body["results"][0]) == HIT_FIELDS
    sig_by_id = {s.sig_id: s.column for s in world.signatures}
    seen = [sig_by_id[h["sig_id"]] for h in body["results"]]
    assert [h["position"] for h in body["results"]] == [1, 2, 3]
    while body["next"]:
        body = client.get(body["next"]).json()
        seen += [sig_by_id[h["sig_id"]] for h in body["results"]]
    assert seen == expected  # index pages, then exact store pages past the top lists
    h = client.get(url, {"type": "chemical", "direction": "down", "limit": 1}).json()["results"][0]
    assert h["cd"] < 0 and h["fold_change"] == pytest.approx(2 ** h["log2fc"], rel=1e-9)
    assert h["discordant"] == (h["cd"] * h["log2fc"] < 0)


def test_signatures_without_a_type_rank_all_types_together(client, world):
    body = client.get(reverse("search:api-gene-signatures", args=["MYC"]), {"limit": 5}).json()
    gi = world.column_of("MYC")
    cols = [s.column for s in world.signatures]
    expected = reference_list(world.cd[:, gi], world.logfc[:, gi], gene_ranks_up(world.cd)[:, gi], cols, len(world.gene_ids), direction="up", metric="cd")
    assert body["query"]["type"] == ["crispr", "chemical"] and body["query"]["direction"] == "up"
    assert [h["sig_id"] for h in body["results"]] == [world.signatures[c].sig_id for c in expected[:5]]


def test_signature_detail_and_facets(client, world):
    s = world.signatures[4]
    body = client.get(reverse("search:api-signature", args=[s.sig_id])).json()
    assert body["sig_id"] == s.sig_id and body["cell_line"] == s.cell_line.name and body["release"] == "r1"
    assert client.get(reverse("search:api-signature", args=["nope"])).json() == {"detail": "No signature 'nope' in release r1."}
    cells = client.get("/api/cell-lines/").json()
    assert cells["results"] == [{"name": c, "n_signatures": 15} for c in ["A375", "A549", "MCF7", "PC3"]]
    types = client.get("/api/perturbation-types/").json()["results"]
    assert types == [{"type": "crispr", "label": "CRISPR knockout", "n_signatures": 20}, {"type": "chemical", "label": "Chemical", "n_signatures": 40}]


def test_api_without_an_active_release_is_a_503_with_a_message(client, world):
    world.release.is_active = False
    world.release.save()
    r = client.get("/api/cell-lines/")
    assert r.status_code == 503 and r.json()["detail"].startswith("No release is active yet")


def test_schema_and_docs_page_are_served_without_a_cdn(client, world):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    assert "/api/genes/{symbol}/signatures/" in schema["paths"]
    assert "/api/table/{kind}/{direction}/{symbol}" in schema["paths"]
    docs = client.get("/api/docs/").content.decode()
    assert "/api/genes/{symbol}/signatures/" in docs and "cdn" not in docs.lower()


def test_the_documented_parameters_and_fields_are_the_ones_validated_and_returned(client, world):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    op = schema["paths"]["/api/genes/{symbol}/signatures/"]["get"]
    params = {p["name"]: p for p in op["parameters"] if p["in"] == "query"}
    assert set(params) == {"type", "direction", "metric", "cell_line", "dose", "time", "limit", "offset"}
    url = reverse("search:api-gene-signatures", args=["STAT3"])
    largest = params["limit"]["schema"]["maximum"]
    assert client.get(url, {"limit": largest}).status_code == 200
    assert client.get(url, {"limit": largest + 1}).status_code == 400
    assert client.get(url).json()["query"]["limit"] == params["limit"]["schema"]["default"]
    assert set(params["type"]["schema"]["items"]["enum"]) == set(dict(PertType.choices))

    body = client.get(url, {"type": "crispr,chemical"}).json()
    assert body == client.get(url, {"type": ["crispr", "chemical"]}).json()
    documented = schema["components"]["schemas"]
    assert set(body) == set(documented["GeneSignatures"]["properties"])
    assert set(body["results"][0]) == set(documented["Hit"]["properties"])
    assert set(body["gene"]) == set(documented["Gene"]["properties"])


def test_anonymous_requests_are_throttled_with_a_json_message(client, world, monkeypatch):
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "3/minute"})
    codes = [client.get("/api/cell-lines/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert "throttled" in client.get("/api/cell-lines/").json()["detail"].lower()
