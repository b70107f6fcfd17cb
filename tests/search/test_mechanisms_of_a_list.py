"""A list's mechanism enrichment on the page and in the API equals a hypergeometric test recomputed here (scipy)."""

import csv
import io

import pytest
from scipy.stats import hypergeom

from search.downloads import MECHANISM_COLUMNS
from tests.search.factories import MOAS


def test_api_mechanisms_equal_an_independent_hypergeometric_test(client, world):
    body = client.get("/api/genes/TP53/mechanisms/", {"type": "chemical", "direction": "down", "limit": 20}).json()
    hits = client.get("/api/genes/TP53/signatures/", {"type": "chemical", "direction": "down", "limit": 20}).json()["results"]
    listed = list(dict.fromkeys(h["pert_id"] for h in hits))
    compounds = {s.pert_id: {t for t in s.pert_moa.split("|") if t} for s in world.signatures if s.pert_type == "chemical"}
    assert body["n_compounds"] == len(listed)
    terms = {t for p in listed for t in compounds[p]}
    assert {r["term"] for r in body["moa"]} == terms and terms
    for r in body["moa"]:
        k = sum(r["term"] in compounds[p] for p in listed)
        big_k = sum(r["term"] in t for t in compounds.values())
        assert (r["listed"], r["n_listed"], r["background"], r["n_background"]) == (k, len(listed), big_k, len(compounds))
        assert r["p_value"] == pytest.approx(hypergeom(len(compounds), big_k, len(listed)).sf(k - 1), rel=1e-9)
    assert {r["term"] for r in body["target"]} == {t for p in listed for s in world.signatures if s.pert_id == p for t in s.pert_targets.split("|") if t}


def test_an_enriched_mechanism_shows_on_the_page(client, world, monkeypatch):
    from search import enrichment

    monkeypatch.setattr(enrichment, "FDR_THRESHOLD", 1.0)  # this small world has no term below 0.05: show every term with 2+ compounds
    html = client.get("/genes/TP53/", {"type": "chemical", "limit": 20}).content.decode()
    assert 'id="mechanisms-chemical-up"' in html
    assert any(f">{moa}" in html for moa, _ in MOAS if moa and "|" not in moa)


def test_the_mechanisms_download_holds_every_tested_term_of_each_list(client, world):
    query = {"type": "chemical", "direction": "down", "limit": 20}
    api = client.get("/api/genes/TP53/mechanisms/", query).json()
    response = client.get("/genes/TP53/mechanisms.tsv", query)
    assert response.status_code == 200 and 'filename="l1kweb_TP53_r1_mechanisms.tsv"' in response["Content-Disposition"]
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("# l1kweb release r1;") and "is predicted with r = 0.71" in lines[0]
    rows = list(csv.DictReader(io.StringIO("\n".join(lines[1:])), delimiter="\t"))
    assert list(rows[0]) == MECHANISM_COLUMNS
    for kind in ("moa", "target"):
        got = {(r["term"], int(r["listed"]), int(r["background"]), float(r["p_value"])) for r in rows if r["annotation"] == kind}
        expected = {(t["term"], t["listed"], t["background"], float(f"{t['p_value']:.6g}")) for t in api[kind]}
        assert got == expected and got
    assert {(r["pert_type"], r["direction"]) for r in rows} == {("chemical", "down")}


def test_the_background_is_read_once_per_release_and_afresh_for_a_new_one(world, django_assert_num_queries):
    from search.mechanisms import release_annotations

    with django_assert_num_queries(1):
        first = release_annotations(world.release, "moa")
    with django_assert_num_queries(0):
        assert release_annotations(world.release, "moa") is first
    compounds = {s.pert_id for s in world.signatures if s.pert_type == "chemical"}
    assert set(first.annotations) == compounds
    world.release.signatures.filter(pert_type="chemical").update(pert_moa="")
    world.release.activate()  # a new activation time: a new cache stamp, so the background is read again
    with django_assert_num_queries(1):
        assert all(not terms for terms in release_annotations(world.release, "moa").annotations.values())
