"""Gene-set search results: result ids, the grouping by perturbagen, the downloads, and bad input on every path."""

import csv
import io
import json
import re

import numpy as np
import pytest
from django.test import Client

from conversion.models import Gene, GeneAlias
from search.models import SavedSetQuery
from signatures.models import Release
from tests.search.factories import make_genes, make_release

pytestmark = pytest.mark.django_db

UP = ["STAT3", "SARP1", "7157", "CDKN1A", "PTGS2"]
DOWN = ["STAT1", "STAT4", "IL6", "MYC", "BRCA1"]
URL = "/api/sets/search/"


def post(client, body):
    return client.post(URL, json.dumps(body), content_type="application/json")


@pytest.fixture
def grouped(db, data_dir):
    """A release of 60 signatures in which each perturbagen has several signatures in several cell lines."""
    return make_release(data_dir, n_perturbagens=7)


def parse(body: bytes, delimiter: str) -> tuple[str, list[str], list[dict]]:
    lines = body.decode().split("\r\n")
    assert lines[0].startswith("# ")
    reader = csv.reader(io.StringIO("\r\n".join(lines[1:])), delimiter=delimiter)
    columns = next(reader)
    return lines[0], columns, [dict(zip(columns, row)) for row in reader if row]


# ---------------------------------------------------------------------------
# Result ids.


def test_the_same_query_gets_the_same_id_and_other_filters_another(client, world):
    first = post(client, {"up": UP, "down": DOWN}).json()
    assert re.fullmatch(r"[a-z2-7]{16}", first["id"]) and first["url"].endswith(f"/api/sets/{first['id']}/")
    assert first["page"].endswith(f"/sets/{first['id']}/") and first["saved_for_release"] is None
    # The same sets with spaces and a repeated gene, the filters in another order: the same query.
    again = post(client, {"up": [" STAT3", "SARP1", "7157 ", "CDKN1A", "PTGS2", "STAT3"], "down": DOWN, "type": ["chemical", "crispr"]}).json()
    both_types = post(client, {"up": UP, "down": DOWN, "type": ["crispr", "chemical"]}).json()
    assert again["id"] == both_types["id"] != first["id"]  # naming both types is a filter of its own, though it selects the same
    assert post(client, {"up": UP, "down": DOWN}).json()["id"] == first["id"]
    others = {post(client, body).json()["id"] for body in (
        {"up": UP, "down": DOWN, "type": ["crispr"]},
        {"up": UP, "down": DOWN, "cell_line": ["A375"]},
        {"up": UP, "down": DOWN, "limit": 10},
        {"up": DOWN, "down": UP},
        {"up": UP, "down": DOWN, "dose": 10},
        {"up": UP, "down": DOWN, "time": 24},
    )}
    assert len(others) == 6 and first["id"] not in others
    assert SavedSetQuery.objects.count() == 8
    dosed = post(client, {"up": UP, "down": DOWN, "dose": 10}).json()
    assert client.get(dosed["url"]).json()["n_signatures"] == dosed["n_signatures"] < first["n_signatures"]  # the saved dose is applied again
    saved = SavedSetQuery.objects.get(key=first["id"])
    assert (saved.release_name, saved.up, saved.down, saved.types, saved.cell_lines, saved.limit) == ("r1", UP, DOWN, [], [], 50)


def test_a_get_is_not_saved_and_has_no_id(client, world):
    body = client.get(URL, {"up": ",".join(UP)}).json()
    assert body["id"] is None and body["url"] is None and "/sets/?up=STAT3%2CSFRP2" in body["page"]
    assert SavedSetQuery.objects.count() == 0


def test_a_posted_search_read_back_by_its_id_equals_the_direct_result(client, world):
    posted = post(client, {"up": UP, "down": DOWN, "cell_line": ["A375", "MCF7"], "limit": 7})
    assert posted.status_code == 200
    body = posted.json()
    again = client.get(body["url"])
    assert again.status_code == 200 and again.json() == body
    cached = client.get(body["url"])
    assert cached.json() == body and cached["ETag"] == again["ETag"]  # from the response cache, keyed by the active release
    assert client.get(body["url"], HTTP_IF_NONE_MATCH=again["ETag"]).status_code == 304
    assert len(body["mimic"]) == 7 and body["cell_line"] == ["A375", "MCF7"]


def test_the_form_posts_then_the_shared_page_shows_the_direct_result(client, world):
    r = client.post("/sets/", {"up": "\n".join(UP), "down": ", ".join(DOWN), "cell_line": ["A549"]})
    assert r.status_code == 302
    key = r["Location"].strip("/").rsplit("/", 1)[1]
    page = client.get(r["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    api = client.get(f"/api/sets/{key}/").json()
    assert api["id"] == key and api["cell_line"] == ["A549"]
    for name in ("mimic", "reverse"):
        section = html[html.index(f'id="set-{name}"'):]
        shown = re.findall(r'<tr data-sig="([^"]+)">', section.split("</table>", 1)[0])
        assert shown == [h["sig_id"] for h in api[name]] and shown
    direct = post(client, {"up": UP, "down": DOWN, "cell_line": ["A549"]}).json()
    assert direct["id"] == key and direct["mimic"] == api["mimic"]
    # The page's boxes hold the saved sets again, the chosen cell line selected.
    assert "STAT3\nSARP1\n7157\nCDKN1A\nPTGS2</textarea>" in html and '<option value="A549" selected>' in html


def test_an_unknown_id_is_a_404_with_a_message(client, world):
    message = "No saved gene-set search has the id &#x27;aaaaaaaaaaaaaaaa&#x27;"
    r = client.get("/sets/aaaaaaaaaaaaaaaa/")
    assert r.status_code == 404 and message in r.content.decode()
    r = client.get("/sets/not-an-id/")
    assert r.status_code == 404 and "No saved gene-set search has the id &#x27;not-an-id&#x27;" in r.content.decode()
    r = client.get("/api/sets/aaaaaaaaaaaaaaaa/")
    assert r.status_code == 404 and r.json()["detail"].startswith("No saved gene-set search has the id 'aaaaaaaaaaaaaaaa';")
    r = client.get("/sets/aaaaaaaaaaaaaaaa/download.tsv")
    assert r.status_code == 404 and r.content.decode().startswith("No saved gene-set search has the id")


def test_an_id_saved_on_an_older_release_is_run_on_the_active_one_and_says_so(client, data_dir):
    genes = make_genes()
    make_release(data_dir, name="r0", genes=genes, seed=1)
    old = post(client, {"up": UP, "down": DOWN}).json()
    assert old["release"]["name"] == "r0"
    Release.objects.filter(name="r0").update(is_active=False)
    make_release(data_dir, name="r1", genes=genes, seed=2)
    key = old["id"]
    now = client.get(f"/api/sets/{key}/").json()
    assert now["release"]["name"] == "r1" and now["saved_for_release"] == "r0" and now["id"] == key
    direct = client.get(URL, {"up": ",".join(UP), "down": ",".join(DOWN)}).json()
    assert now["mimic"] == direct["mimic"] and now["mimic"] != old["mimic"]
    page = client.get(f"/sets/{key}/")
    assert page.status_code == 200
    note = re.sub(r"<[^>]+>", "", re.search(r'<p class="note"[^>]*id="set-other-release">(.*?)</p>', page.content.decode()).group(1))
    assert note == "This search was saved for release r0; the active release is r1, so it is run again on r1 and its results may differ from those first shared."
    header = client.get(f"/sets/{key}/download.tsv").content.decode().split("\r\n", 1)[0]
    assert header.endswith(f"result id {key} saved for release r0, run again on r1")


def test_a_saved_filter_the_active_release_lacks_is_explained(client, world):
    key = post(client, {"up": UP, "cell_line": ["A375"]}).json()["id"]
    SavedSetQuery.objects.filter(key=key).update(release_name="r0", cell_lines=["HELA"])  # as saved on a release that had HeLa
    r = client.get(f"/sets/{key}/")
    html = r.content.decode()
    assert r.status_code == 400 and "Unknown cell line &#x27;HELA&#x27;" in html and "saved for release <strong>r0</strong>" in html
    r = client.get(f"/api/sets/{key}/")
    assert r.status_code == 400 and r.json()["detail"].startswith("Unknown cell line 'HELA'")


def test_a_stored_query_is_bounded(client, world):
    long_entry = "X" * 10_000
    body = post(client, {"up": UP + [long_entry], "down": DOWN}).json()
    saved = SavedSetQuery.objects.get(key=body["id"])
    assert max(len(e) for e in saved.up) == 65
    assert [u["reason"] for u in body["unknown"]] == ["unknown"]


# ---------------------------------------------------------------------------
# Grouped by perturbagen.


def _reference_groups(world, scored: dict[str, float], listed: list[dict], sign: float) -> list[dict]:
    """Per perturbagen of `listed`, in the order of its best hit, over every signature scored: a plain loop over the rows."""
    by_sig = {s.sig_id: s for s in world.signatures}
    out = []
    for hit in listed:
        pert = by_sig[hit["sig_id"]].pert_id
        if any(g["pert_id"] == pert for g in out):
            continue
        mine = [s for s in world.signatures if s.pert_id == pert and s.sig_id in scored]
        scores = [scored[s.sig_id] for s in mine]
        cells = sorted({s.cell_line.name for s in mine})
        cells_agree = sum(
            1 for c in cells
            if 2 * sum(scored[s.sig_id] * sign > 0 for s in mine if s.cell_line.name == c) > sum(1 for s in mine if s.cell_line.name == c)
        )
        out.append({
            "pert_id": pert, "best_position": hit["position"], "n_listed": sum(by_sig[h["sig_id"]].pert_id == pert for h in listed),
            "n_signatures": len(mine), "n_agree": sum(v * sign > 0 for v in scores), "n_cell_lines": len(cells),
            "n_cell_lines_agree": cells_agree, "median_score": float(np.median(scores)), "cell_lines": cells,
        })
    return out


@pytest.mark.parametrize("filters", [{}, {"cell_line": ["A375", "PC3"]}, {"type": ["chemical"]}])
def test_perturbagen_groups_equal_a_plain_count_over_the_hits(client, grouped, filters):
    everything = post(client, {"up": UP, "down": DOWN, "limit": 1000, **filters}).json()
    scored = {h["sig_id"]: h["score"] for h in everything["mimic"]}
    z_up = {h["sig_id"]: h["z_up"] for h in everything["mimic"]}
    body = post(client, {"up": UP, "down": DOWN, "limit": 12, **filters}).json()
    for name, sign in (("mimic", 1.0), ("reverse", -1.0)):
        got = body["perturbagens"][name]
        expected = _reference_groups(grouped, scored, body[name], sign)
        assert [g["pert_id"] for g in got] == [e["pert_id"] for e in expected] and got
        for g, e in zip(got, expected):
            assert {k: g[k] for k in e if k != "median_score"} == {k: v for k, v in e.items() if k != "median_score"}
            assert g["median_score"] == pytest.approx(e["median_score"], abs=1e-9)
            assert g["agreement"] == pytest.approx(e["n_agree"] / e["n_signatures"])
            members = [s.sig_id for s in grouped.signatures if s.pert_id == g["pert_id"] and s.sig_id in scored]
            assert g["median_z_up"] == pytest.approx(float(np.median([z_up[s] for s in members])), abs=1e-9)
    assert any(g["n_signatures"] > g["n_listed"] for g in body["perturbagens"]["mimic"])  # grouped over more than the listed hits


def test_a_one_sided_search_has_no_median_for_the_missing_set(client, grouped):
    body = post(client, {"up": UP}).json()
    assert body["perturbagens"]["mimic"] and all(g["median_z_down"] is None and g["median_z_up"] == pytest.approx(g["median_score"]) for g in body["perturbagens"]["mimic"])


def test_the_page_shows_each_lists_perturbagens(client, grouped):
    r = client.get("/sets/", {"up": ",".join(UP), "down": ",".join(DOWN)})
    html = r.content.decode()
    api = client.get(URL, {"up": ",".join(UP), "down": ",".join(DOWN)}).json()
    for name in ("mimic", "reverse"):
        section = html[html.index(f'id="set-perturbagens-{name}"'):].split("</details>", 1)[0]
        assert re.findall(r'<tr data-pert="([^"]+)">', section) == [g["pert_id"] for g in api["perturbagens"][name]]


# ---------------------------------------------------------------------------
# Downloads.


@pytest.mark.parametrize("fmt, delimiter", [("tsv", "\t"), ("csv", ",")])
def test_downloads_parse_back_to_the_tables(client, grouped, fmt, delimiter):
    body = post(client, {"up": UP, "down": DOWN, "type": ["chemical"], "limit": 9}).json()
    key = body["id"]
    r = client.get(f"/sets/{key}/download.{fmt}")
    assert r.status_code == 200 and r["Content-Disposition"] == f'attachment; filename="l1kweb_sets_{key}_r1.{fmt}"'
    header, columns, rows = parse(r.content, delimiter)
    assert header.startswith("# l1kweb release r1;")
    assert "set search up=STAT3,SFRP2,TP53,CDKN1A,PTGS2 (5 genes, 0 entries not found) down=STAT1,STAT4,IL6,MYC,BRCA1 (5 genes" in header
    assert f"type=chemical cell_line=all limit=9 result id {key}" in header
    assert columns[:4] == ["pert_type", "list", "position", "sig_id"]
    hits = [(name, h) for name in ("mimic", "reverse") for h in body[name]]
    assert len(rows) == len(hits) == 18
    for row, (name, h) in zip(rows, hits):
        assert (row["list"], int(row["position"]), row["sig_id"], row["perturbagen"], row["cell_line"]) == (name, h["position"], h["sig_id"], h["perturbagen"], h["cell_line"])
        for k in ("z_up", "z_down", "score", "p_value", "fdr"):
            assert float(row[k]) == pytest.approx(h[k], rel=1e-5, abs=1e-12)
    r = client.get(f"/sets/{key}/perturbagens.{fmt}")
    _, columns, rows = parse(r.content, delimiter)
    groups = [(name, g) for name in ("mimic", "reverse") for g in body["perturbagens"][name]]
    assert len(rows) == len(groups) and columns[-4:] == ["median_score", "median_z_up", "median_z_down", "cell_lines"]
    for row, (name, g) in zip(rows, groups):
        assert (row["list"], row["pert_id"], int(row["n_signatures"]), int(row["n_agree"]), row["cell_lines"].split(",")) == (name, g["pert_id"], g["n_signatures"], g["n_agree"], g["cell_lines"])
        assert float(row["median_score"]) == pytest.approx(g["median_score"], rel=1e-5)


def test_a_short_query_downloads_by_its_query_string_as_linked_from_the_page(client, world):
    html = client.get("/sets/", {"up": ",".join(UP), "down": ",".join(DOWN), "limit": 4}).content.decode()
    link = re.search(r'id="set-download-csv" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert link.startswith("/sets/download.csv?up=STAT3%2CSFRP2")
    header, _, rows = parse(client.get(link).content, ",")
    api = client.get(URL, {"up": ",".join(UP), "down": ",".join(DOWN), "limit": 4}).json()
    assert [r["sig_id"] for r in rows] == [h["sig_id"] for h in api["mimic"] + api["reverse"]]
    assert "result id" not in header
    assert client.get(link.replace("download.csv", "download.xlsx")).status_code == 200
    assert set(api["downloads"]) == {"tsv", "csv", "perturbagens_tsv", "perturbagens_csv"}
    assert client.get(api["downloads"]["perturbagens_tsv"]).status_code == 200
    assert client.get("/sets/download.pdf", {"up": ",".join(UP)}).status_code == 404


# ---------------------------------------------------------------------------
# Bad input: one sentence, never a 500.


BAD_PAGE_INPUT = [
    ({"up": "", "down": ""}, 400, "Give an up set, a down set or both: both sets are empty."),
    ({"up": "NOSUCH1\nNOSUCH2"}, 404, "The up set has 0 genes in this release, fewer than the 5 the search needs; not found in it: &#x27;NOSUCH1&#x27;, &#x27;NOSUCH2&#x27;."),
    ({"up": "\n".join(UP), "down": "TP53 MYC IL6 STAT1 STAT4"}, 400, "TP53 is in both the up and the down set; a gene can be in one set only."),
    ({"up": "\n".join(f"G{i}" for i in range(20_000))}, 400, "The up set has 20000 genes; at most 2,000 per set are searched."),
    # A GMT line without genes: its name and description are read as entries, and are no genes.
    ({"up": "MYSET\tmy description"}, 404, "The up set has 0 genes in this release, fewer than the 5 the search needs; not found in it: &#x27;MYSET&#x27;, &#x27;my&#x27;, &#x27;description&#x27;."),
    ({"up": "MYSET\tdesc\t\t\t"}, 400, "Give an up set, a down set or both: both sets are empty."),
    ({"up": "\n".join(UP), "limit": "many"}, 400, "Parameter &#x27;limit&#x27; must be a whole number, found &#x27;many&#x27;."),
]


@pytest.mark.parametrize("data, status, message", BAD_PAGE_INPUT)
def test_bad_input_to_the_form_is_explained_and_nothing_is_saved(client, world, data, status, message):
    r = client.post("/sets/", data)
    assert r.status_code == status and message in r.content.decode()
    assert SavedSetQuery.objects.count() == 0
    plain = client.get("/sets/download.tsv", data)
    assert plain.status_code == status and plain["Content-Type"].startswith("text/plain")


def test_a_20000_entry_set_is_refused_by_the_api_before_any_lookup(client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        r = post(client, {"up": [f"G{i}" for i in range(20_000)]})
    assert (r.status_code, r.json()) == (400, {"detail": "The up set has 20000 genes; at most 2,000 per set are searched."})
    genes = (Gene._meta.db_table, GeneAlias._meta.db_table)
    assert queries.captured_queries and not [q for q in queries.captured_queries if any(f'"{t}"' in q["sql"] for t in genes)]


def test_the_schema_documents_the_saved_search(client, world):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    op = schema["paths"]["/api/sets/{key}/"]["get"]
    assert set(op["responses"]) == {"200", "400", "404", "429", "503"}
    fields = schema["components"]["schemas"]["SetSearch"]["properties"]
    assert {"id", "url", "page", "saved_for_release", "perturbagens", "downloads"} <= set(fields)


def test_the_form_keeps_its_dose_and_time_in_the_saved_search(client, world):
    r = client.post("/sets/", {"up": "\n".join(UP), "down": "\n".join(DOWN), "dose": "10", "time": "24"})
    assert r.status_code == 302
    key = r["Location"].strip("/").rsplit("/", 1)[1]
    api = client.get(f"/api/sets/{key}/").json()
    assert (api["dose"], api["time"]) == (10.0, 24.0)
    assert api["n_signatures"] == sum(s.dose == 10 and s.time == 24 for s in world.signatures)
    html = client.get(r["Location"]).content.decode()
    assert 'name="dose" list="set-doses" inputmode="decimal" size="6" value="10"' in html and 'value="24"' in html
    tsv = client.get(f"/sets/{key}/download.tsv").content.decode()
    assert "dose=10 time=24" in tsv.splitlines()[0]


def test_a_posted_form_is_scored_once_on_its_result_page_and_refused_before_it_is_saved(client, world, monkeypatch):
    from search import set_search

    calls = []
    scored = set_search.search_sets
    monkeypatch.setattr(set_search, "search_sets", lambda *a, **k: calls.append(1) or scored(*a, **k))
    r = client.post("/sets/", {"up": "\n".join(UP), "down": "\n".join(DOWN)})
    assert r.status_code == 302 and calls == []
    assert client.get(r["Location"]).status_code == 200 and calls == [1]
    refused = client.post("/sets/", {"up": "STAT3\nSARP1", "down": ""})
    assert refused.status_code == 400 and "fewer than the 5" in refused.content.decode()
    assert SavedSetQuery.objects.count() == 1
