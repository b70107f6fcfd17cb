"""Gene-set search (search.set_search, POST /api/sets/search/, /sets/): scores against scipy, planted signals, refusals."""

import json
import re

import numpy as np
import pytest
from django.test import Client
from scipy.stats import false_discovery_control, mannwhitneyu, norm

from conversion.models import Dataset, DatasetKind, Gene, GeneStatus
from search import set_search
from search.enrichment import benjamini_hochberg
from signatures.models import CellLine, Release, ReleaseStatus, Signature
from signatures.store import ranks_up, write_store
from tests.search.factories import make_release

pytestmark = pytest.mark.django_db

UP = ["STAT3", "SARP1", "7157", "CDKN1A", "PTGS2"]  # SARP1: an alias of SFRP2; 7157: TP53's Entrez id
UP_SYMBOLS = ["STAT3", "SFRP2", "TP53", "CDKN1A", "PTGS2"]
DOWN = ["STAT1", "STAT4", "IL6", "MYC", "BRCA1"]
URL = "/api/sets/search/"


def post(client, body):
    return client.post(URL, json.dumps(body), content_type="application/json")


def reference_z(cd_row: np.ndarray, in_set: np.ndarray) -> float:
    """z of scipy's Mann-Whitney U of the set's CD against the other genes' (normal approximation, no tie correction)."""
    x, y = cd_row[in_set], cd_row[~in_set]
    m, n = len(x), len(y)
    u = mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=False).statistic  # U of x: large = x higher
    return (u - m * n / 2) / np.sqrt(m * n * (m + n + 1) / 12)


def columns_of(world, symbols) -> np.ndarray:
    return np.isin(np.arange(len(world.gene_ids)), [world.column_of(s) for s in symbols])


# ---------------------------------------------------------------------------
# Scores.


def test_scores_equal_scipy_mann_whitney_for_every_signature(client, world):
    r = post(client, {"up": UP, "down": DOWN, "limit": 1000})
    assert r.status_code == 200, r.content
    body = r.json()
    assert [g["symbol"] for g in body["up"]] == UP_SYMBOLS and body["unknown"] == []
    assert body["n_signatures"] == len(world.signatures) == len(body["mimic"]) == len(body["reverse"])
    up, down = columns_of(world, UP_SYMBOLS), columns_of(world, DOWN)
    column = {s.sig_id: s.column for s in world.signatures}
    p_ref = np.empty(len(world.signatures))
    for j in range(len(world.signatures)):
        z_up, z_down = reference_z(world.cd[j], up), reference_z(world.cd[j], down)
        p_ref[j] = 2 * norm.sf(abs(z_up - z_down) / np.sqrt(2))
    fdr_ref = false_discovery_control(p_ref, method="bh")
    for hit in body["mimic"]:
        j = column[hit["sig_id"]]
        z_up, z_down = reference_z(world.cd[j], up), reference_z(world.cd[j], down)
        assert hit["z_up"] == pytest.approx(z_up, abs=1e-9) and hit["z_down"] == pytest.approx(z_down, abs=1e-9)
        assert hit["score"] == pytest.approx(z_up - z_down, abs=1e-9)
        assert hit["p_value"] == pytest.approx(p_ref[j], rel=1e-9) and hit["fdr"] == pytest.approx(fdr_ref[j], rel=1e-9)
        assert hit["signature_url"].endswith(f"/signatures/{hit['sig_id']}/")
    scores = [h["score"] for h in body["mimic"]]
    assert scores == sorted(scores, reverse=True)
    assert [h["score"] for h in body["reverse"]] == sorted(scores)


def test_the_scores_use_the_stores_ranks_and_a_gene_without_cd_counts_as_the_middle_rank(client, data_dir):
    world = make_release(data_dir, constant_gene="PTGS2")  # no CD for PTGS2 in every other signature
    r = post(client, {"up": UP, "limit": 1000})
    assert r.status_code == 200, r.content
    ranks = ranks_up(world.cd).astype(np.float64)  # (n_sigs, n_genes)
    n = len(world.gene_ids)
    ranks[ranks == 0] = (n + 1) / 2
    up = columns_of(world, UP_SYMBOLS)
    m = up.sum()
    z = (m * (n + 1) / 2 - ranks[:, up].sum(axis=1)) / np.sqrt(m * (n - m) * (n + 1) / 12)
    column = {s.sig_id: s.column for s in world.signatures}
    got = {column[h["sig_id"]]: h["z_up"] for h in r.json()["mimic"]}
    np.testing.assert_allclose([got[j] for j in range(len(z))], z, rtol=0, atol=1e-9)


def test_streamed_rank_sums_equal_the_ranks_matrix_for_all_and_for_chosen_signatures(data_dir):
    world = make_release(data_dir, constant_gene="PTGS2")
    from search.stores import store_for

    store = store_for(world.release)
    genes = [world.genes[s] for s in UP_SYMBOLS]
    n_genes = store.n_genes
    every = np.arange(store.n_signatures)
    chosen = np.array([1, 2, 5, 8, 13, 21, 34, 55])
    for columns, read in ((every, None), (chosen, chosen)):
        expected = set_search.set_z(set_search.set_ranks(store, genes, columns), n_genes)
        np.testing.assert_allclose(set_search.set_scores(store, genes, read), expected, rtol=0, atol=1e-12)
    assert set_search.set_ranks(store, genes, every).min() == 0, "PTGS2 has no CD in some signatures: the zero count is exercised"


@pytest.mark.parametrize("limit", [1, 7, 50, 500])
def test_the_best_and_worst_positions_equal_a_full_sort_with_ties_by_position(limit):
    rng = np.random.default_rng(limit)
    score = rng.integers(-5, 6, size=300).astype(np.float64)  # many ties, the limit-th among them
    score[rng.random(300) < 0.1] = -0.0
    for largest in (True, False):
        expected = np.lexsort((np.arange(300), -score if largest else score))[:limit]
        assert set_search.top_positions(score, limit, largest=largest).tolist() == expected.tolist()


def test_the_fdr_it_uses_equals_scipys():
    p = np.random.default_rng(3).uniform(size=500) ** 3
    np.testing.assert_allclose(benjamini_hochberg(p), false_discovery_control(p, method="bh"), rtol=1e-12)
    assert benjamini_hochberg(np.array([])).shape == (0,)


def test_one_sided_queries_score_with_their_one_z(client, world):
    only_up = post(client, {"up": UP}).json()
    assert all(h["z_down"] is None and h["score"] == h["z_up"] for h in only_up["mimic"])
    assert only_up["mimic"][0]["p_value"] == pytest.approx(2 * norm.sf(abs(only_up["mimic"][0]["z_up"])), rel=1e-9)
    only_down = post(client, {"down": DOWN}).json()
    assert all(h["z_up"] is None and h["score"] == -h["z_down"] for h in only_down["mimic"])
    assert len(only_down["mimic"]) == 50  # the default limit


def test_filters_restrict_the_signatures_searched(client, world):
    body = post(client, {"up": UP, "down": DOWN, "type": ["crispr"], "cell_line": ["A375"], "limit": 1000}).json()
    expected = {s.sig_id for s in world.signatures if s.pert_type == "crispr" and s.cell_line.name == "A375"}
    assert body["n_signatures"] == len(expected) and {h["sig_id"] for h in body["mimic"]} == expected
    query = client.get(URL, {"up": ",".join(UP), "down": " ".join(DOWN), "type": "crispr", "cell_line": "A375", "limit": 1000}).json()
    assert query["mimic"] == body["mimic"]


@pytest.mark.parametrize("filters", [{"dose": 10}, {"time": 24}, {"dose": 1, "time": 6, "cell_line": ["A549"]}, {"dose": 3}])
def test_dose_and_time_filters_restrict_the_signatures_searched_as_on_gene_pages(client, world, filters):
    body = post(client, {"up": UP, "down": DOWN, "limit": 1000, **filters}).json()
    expected = {
        s.sig_id for s in world.signatures
        if all(getattr(s, k) == v for k, v in filters.items() if k in ("dose", "time")) and s.cell_line.name in filters.get("cell_line", [s.cell_line.name])
    }
    assert body["n_signatures"] == len(expected) and {h["sig_id"] for h in body["mimic"]} == expected
    assert (body["dose"], body["time"]) == (filters.get("dose"), filters.get("time"))
    in_url = {k: v if isinstance(v, list) else str(v) for k, v in filters.items()}
    query = client.get(URL, {"up": ",".join(UP), "down": ",".join(DOWN), "limit": 1000, **in_url}).json()
    assert query["mimic"] == body["mimic"]
    for group in body["perturbagens"]["mimic"]:  # a perturbagen's signatures are counted under the same filters
        assert group["n_signatures"] == sum(s.pert_id == group["pert_id"] and s.sig_id in expected for s in world.signatures)


# ---------------------------------------------------------------------------
# A planted signal.


def make_planted_release(data_dir, *, n_genes=40, n_sigs=30, mimic=(3, 7, 11), reverse=(20, 25), up=range(0, 6), down=range(6, 12)) -> list[Signature]:
    """A release whose signatures `mimic` put genes `up` first and `down` last, and `reverse` the other way round."""
    genes = [Gene.objects.create(entrez_id=100 + i, symbol=f"PL{i}", name=f"planted {i}", status=GeneStatus.MODEL_ONLY, in_model_output=True) for i in range(n_genes)]
    rng = np.random.default_rng(7)
    cd = rng.standard_normal((n_sigs, n_genes)).astype(np.float32) * 0.1
    for j, sign in [(j, 1) for j in mimic] + [(j, -1) for j in reverse]:
        cd[j, list(up)] = sign * (1 + rng.uniform(size=len(up)))
        cd[j, list(down)] = -sign * (1 + rng.uniform(size=len(down)))
    dataset = Dataset.objects.create(name="ds-planted", kind=DatasetKind.RNASEQ_LIKE, path="planted.gctx", n_profiles=n_sigs * 3, n_genes=n_genes)
    release = Release.objects.create(
        name="planted", dataset=dataset, status=ReleaseStatus.COMPLETE, is_active=True, directory="releases/planted", model_version="test",
        n_signatures=n_sigs, n_genes=n_genes, index_built=True, params={"top_n": 8},
    )
    cell = CellLine.objects.get_or_create(name="A375")[0]
    sigs = Signature.objects.bulk_create([
        Signature(release=release, sig_id=f"PLANTED:BRD-{j:04d}:10:24", column=j, pert_type="chemical", pert_id=f"BRD-{j:04d}", pert_name=f"drug{j}",
                  cell_line=cell, dose=10.0, dose_unit="uM", time=24.0, time_unit="h", batch="PLATE0", n_replicates=3, n_controls=12)
        for j in range(n_sigs)
    ])
    write_store(data_dir / "releases" / "planted", [g.entrez_id for g in genes], [s.sig_id for s in sigs], cd, cd * 3, symbols=[g.symbol for g in genes])
    return sigs


def test_planted_signatures_come_first_in_their_lists(client, data_dir):
    sigs = make_planted_release(data_dir)
    body = post(client, {"up": [f"PL{i}" for i in range(6)], "down": [f"PL{i}" for i in range(6, 12)]}).json()
    assert {h["sig_id"] for h in body["mimic"][:3]} == {sigs[j].sig_id for j in (3, 7, 11)}
    assert {h["sig_id"] for h in body["reverse"][:2]} == {sigs[j].sig_id for j in (20, 25)}
    assert all(h["fdr"] < 0.05 for h in body["mimic"][:3]) and body["mimic"][3]["score"] < body["mimic"][2]["score"]
    # Swapping the sets swaps the lists.
    swapped = post(client, {"up": [f"PL{i}" for i in range(6, 12)], "down": [f"PL{i}" for i in range(6)]}).json()
    assert {h["sig_id"] for h in swapped["mimic"][:2]} == {sigs[j].sig_id for j in (20, 25)}


# ---------------------------------------------------------------------------
# Entries that name no gene, and refusals.


def test_unknown_ambiguous_and_unmeasured_entries_are_listed_back(client, world):
    r = post(client, {"up": UP + ["NOSUCHGENE1", "ISGF-3", "NOTOUT1"], "down": DOWN})
    assert r.status_code == 200, r.content
    unknown = {u["query"]: u["reason"] for u in r.json()["unknown"]}
    assert unknown == {"NOSUCHGENE1": "unknown", "ISGF-3": "ambiguous", "NOTOUT1": "not_in_release"}
    assert all(u["set"] == "up" for u in r.json()["unknown"])


@pytest.mark.parametrize(
    "body, status, message",
    [
        ({}, 400, "Give an up set, a down set or both: both sets are empty."),
        ({"up": [], "down": []}, 400, "Give an up set, a down set or both: both sets are empty."),
        ({"up": ["NOSUCH1", "NOSUCH2"]}, 404, "The up set has 0 genes in this release, fewer than the 5 the search needs; not found in it: 'NOSUCH1', 'NOSUCH2'."),
        ({"up": ["STAT3", "TP53"]}, 400, "The up set has 2 genes in this release, fewer than the 5 the search needs."),
        ({"up": UP, "down": ["TP53", "MYC", "IL6", "STAT1", "STAT4"]}, 400, "TP53 is in both the up and the down set; a gene can be in one set only."),
        ({"up": [f"G{i}" for i in range(2001)]}, 400, "The up set has 2001 genes; at most 2,000 per set are searched."),
        ({"up": "STAT3,TP53"}, 400, "'up' must be a list of gene symbols, aliases or Entrez ids, each a string."),
        ({"up": [7157]}, 400, "'up' must be a list of gene symbols, aliases or Entrez ids, each a string."),
        ({"up": UP + [" "]}, 400, "'up' holds a blank entry (position 6); give one gene per entry."),
        ({"up": UP, "type": ["virus"]}, 400, "Unknown perturbation type 'virus'; expected one of crispr, chemical, shrna, overexpression, ligand, other."),
        ({"up": UP, "limit": 0}, 400, "Parameter 'limit' must be between 1 and 1000, found 0."),
    ],
)
def test_bad_queries_are_refused_with_one_sentence(client, world, body, status, message):
    r = post(client, body)
    assert (r.status_code, r.json()) == (status, {"detail": message})


def test_malformed_json_and_a_body_that_is_not_an_object_are_400(client, world):
    r = client.post(URL, "{up: [", content_type="application/json")
    assert r.status_code == 400 and "JSON parse error" in r.json()["detail"]
    r = client.post(URL, "[1, 2]", content_type="application/json")
    assert r.status_code == 400 and r.json()["detail"].startswith("The request body must be a JSON object")


def test_no_active_release_is_503(client, db):
    assert post(client, {"up": UP}).status_code == 503


def test_split_genes_reads_lines_commas_spaces_and_gmt():
    assert set_search.split_genes("STAT3\nTP53, MYC;IL6  BRCA1\n\n") == ["STAT3", "TP53", "MYC", "IL6", "BRCA1"]
    assert set_search.split_genes("MYSET\thttp://x\tSTAT3\tTP53\tMYC\n") == ["STAT3", "TP53", "MYC"]


def test_the_schema_documents_the_set_search(client, world):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    ops = schema["paths"]["/api/sets/search/"]
    assert set(ops["post"]["responses"]) == set(ops["get"]["responses"]) == {"200", "400", "404", "429", "503"}
    assert "up" in ops["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]


# ---------------------------------------------------------------------------
# The page.


def test_the_page_posts_to_itself_with_csrf_and_is_sent_to_the_saved_result(world):
    c = Client(enforce_csrf_checks=True)
    r = c.get("/sets/")
    assert r.status_code == 200 and b'name="csrfmiddlewaretoken"' in r.content
    assert c.post("/sets/", {"up": "\n".join(UP)}).status_code == 403  # no token
    token = c.cookies["csrftoken"].value
    r = c.post("/sets/", {"up": "\n".join(UP + ["NOSUCHGENE1"]), "down": "MYSET\tdesc\t" + "\t".join(DOWN), "csrfmiddlewaretoken": token})
    assert r.status_code == 302 and re.fullmatch(r"/sets/[a-z2-7]{16}/", r["Location"])
    r = c.get(r["Location"])
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="set-mimic"' in html and 'id="set-reverse"' in html and "Unknown gene &#x27;NOSUCHGENE1&#x27;." in html
    assert f'href="/signatures/{world.signatures[0].sig_id}/"' in html
    assert f'id="set-share" href="{r.request["PATH_INFO"]}"' in html


def test_a_short_url_links_to_itself_by_the_genes_found(client, world):
    r = client.get("/sets/", {"up": ",".join(UP + ["NOSUCHGENE1"]), "down": ",".join(DOWN)})
    assert r.status_code == 200
    assert 'href="/sets/?up=STAT3%2CSFRP2%2CTP53%2CCDKN1A%2CPTGS2&amp;down=STAT1%2CSTAT4%2CIL6%2CMYC%2CBRCA1"' in r.content.decode()


def test_a_short_url_runs_the_search_and_bad_input_is_a_400_page(client, world):
    r = client.get("/sets/", {"up": ",".join(UP), "down": ",".join(DOWN)})
    assert r.status_code == 200 and 'id="set-mimic"' in r.content.decode()
    r = client.get("/sets/", {"up": "STAT3,TP53", "down": ""})
    assert r.status_code == 400 and "fewer than the 5 the search needs" in r.content.decode()
    assert client.get("/sets/", {"up": "", "down": ""}).status_code == 400


def test_the_home_page_links_to_the_set_search(client, world):
    assert b'href="/sets/"' in client.get("/").content


def test_a_set_too_long_for_a_url_is_refused_in_the_query_string(client, world):
    r = client.get(URL, {"up": "A" * 8001})
    assert (r.status_code, r.json()) == (400, {"detail": "Parameter 'up' is longer than 8,000 characters; POST a set that large."})
