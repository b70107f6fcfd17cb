"""The gene's result page: header, release, tables from the top lists, volcano data, query budget."""

import json

import pytest
from django.core.cache import cache
from django.urls import reverse

from search.query import SearchParams, run_lists
from signatures.models import Signature
from tests.search.factories import gene_ranks_up, reference_list

pytestmark = pytest.mark.django_db


def _figures(response):
    html = response.content.decode()
    start = html.index('<script id="volcano-figures" type="application/json">') + len('<script id="volcano-figures" type="application/json">')
    return json.loads(html[start : html.index("</script>", start)])


def test_page_names_the_gene_status_release_and_model(client, world):
    r = client.get(reverse("search:gene", args=["STAT3"]))
    assert r.status_code == 200
    html = r.content.decode()
    assert "Measured landmark" in html
    assert "r1" in html and "two-step 1.0 (tiny)" in html
    r = client.get(reverse("search:gene", args=["PTGS2"]))
    assert "Predicted by the model only" in r.content.decode()


def test_tables_list_the_reference_ranking_from_the_top_lists(client, world):
    r = client.get(reverse("search:gene", args=["TP53"]), {"limit": 5, "metric": "logfc"})
    assert r.status_code == 200
    gi = world.column_of("TP53")
    rank_up = gene_ranks_up(world.cd)[:, gi]
    sections = {s["type"]: s for s in r.context["sections"]}
    assert list(sections) == ["crispr", "chemical"]
    for t, section in sections.items():
        cols = [s.column for s in world.signatures if s.pert_type == t]
        for hl in section["lists"]:
            expected = reference_list(world.cd[:, gi], world.logfc[:, gi], rank_up, cols, len(world.gene_ids), direction=hl.direction, metric="logfc")[:5]
            assert hl.source == "index"
            assert [h.signature.column for h in hl.hits] == expected
            for h in hl.hits:
                assert f'data-sig="{h.signature.sig_id}"' in r.content.decode()


def test_top_list_page_equals_the_exact_store_ranking(world):
    gene = world.genes["MYC"]
    params = SearchParams(metric="rank", limit=world.top_n)
    lists = [(("crispr",), "up"), (("chemical",), "down"), (("crispr", "chemical"), "up")]
    from_index = run_lists(world.release, gene, params, lists)
    world.release.index_built = False  # forces the store path for the same query
    from_store = run_lists(world.release, gene, params, lists)
    for a, b in zip(from_index, from_store):
        assert (a.source, b.source) == ("index", "store")
        assert [(h.signature.column, h.rank) for h in a.hits] == [(h.signature.column, h.rank) for h in b.hits]
        assert [h.cd for h in a.hits] == pytest.approx([h.cd for h in b.hits], abs=1e-6)


def test_volcano_points_are_the_table_rows_coloured_by_concordance(client, world):
    r = client.get(reverse("search:gene", args=["STAT3"]), {"type": "chemical"})
    figures = _figures(r)
    assert list(figures) == ["volcano-chemical"]
    traces = {t["name"]: t for t in figures["volcano-chemical"]["data"]}
    shown = {h.signature.sig_id: h for hl in r.context["sections"][0]["lists"] for h in hl.hits}
    plotted = [sig for t in traces.values() for sig in t["customdata"]]
    assert sorted(plotted) == sorted(shown)
    for sig in traces["Discordant"]["customdata"]:
        assert shown[sig].discordant
    for i, sig in enumerate(traces["Up (concordant)"]["customdata"]):
        assert shown[sig].cd > 0 and shown[sig].logfc > 0
        assert traces["Up (concordant)"]["y"][i] == pytest.approx(abs(shown[sig].cd), abs=1e-6)


def test_page_reads_the_top_lists_in_a_fixed_number_of_queries(client, world, django_assert_max_num_queries):
    client.get(reverse("search:gene", args=["STAT3"]))  # warms the facets and the release's perturbagen index
    with django_assert_max_num_queries(5):  # release, gene, its reliability, top-list rows, their signatures
        r = client.get(reverse("search:gene", args=["STAT3"]), {"metric": "rank", "limit": 5})
    assert all(hl.source == "index" for s in r.context["sections"] for hl in s["lists"])
    assert r.status_code == 200


def test_filtered_page_costs_a_fixed_number_of_queries(client, world, django_assert_max_num_queries):
    client.get(reverse("search:gene", args=["STAT3"]))
    with django_assert_max_num_queries(5):  # release, gene, its reliability, matching columns, their metadata
        r = client.get(reverse("search:gene", args=["STAT3"]), {"cell_line": ["A549", "MCF7"], "limit": 200})
    assert r.status_code == 200


def test_alias_redirects_to_the_symbol_with_a_note(client, world):
    r = client.get(reverse("search:gene", args=["SARP1"]), {"metric": "logfc"})
    assert r.status_code == 302
    assert r["Location"] == "/genes/SFRP2/?metric=logfc&searched=SARP1"
    r = client.get(r["Location"])
    assert "SFRP2" in r.content.decode() and "(searched: SARP1)" in r.content.decode()


def test_search_box_target_redirects_to_the_gene_or_explains(client, world):
    assert client.get("/genes/", {"q": "tp53"})["Location"] == "/genes/TP53/?searched=tp53"
    r = client.get("/genes/", {"q": "SFRP22"})
    assert r.status_code == 404
    assert "Unknown gene &#x27;SFRP22&#x27;. Did you mean SFRP2?" in r.content.decode()
    r = client.get("/genes/", {"q": "ISGF-3"})
    assert r.status_code == 200 and "/genes/STAT1/" in r.content.decode() and "/genes/STAT4/" in r.content.decode()


def test_page_without_an_active_release_says_so(client, world):
    world.release.is_active = False
    world.release.save()
    r = client.get(reverse("search:gene", args=["STAT3"]))
    assert r.status_code == 503 and "No release is active yet" in r.content.decode()


def test_home_page_serves_the_search_box_and_local_plotly_exists(client, world):
    from django.contrib.staticfiles import finders

    r = client.get("/")
    assert r.status_code == 200 and 'id="gene-query"' in r.content.decode()
    assert finders.find("vendor/plotly.min.js")
    page = client.get(reverse("search:gene", args=["STAT3"])).content.decode()
    assert "/static/vendor/plotly.min.js" in page and "cdn" not in page.lower()


def test_table_rows_escape_signature_metadata(client, world):
    r = client.get(reverse("search:gene", args=["STAT3"]), {"limit": 5})
    first = r.context["sections"][0]["lists"][0].hits[0].signature
    Signature.objects.filter(release=world.release, sig_id=first.sig_id).update(pert_name='<b>"x"</b> & y', dose_unit="<i>")
    cache.clear()  # a served release's rows never change; this test edits them, so the cached page goes
    html = client.get(reverse("search:gene", args=["STAT3"]), {"limit": 5}).content.decode()
    assert f'title="{first.sig_id}">&lt;b&gt;&quot;x&quot;&lt;/b&gt; &amp; y</' in html
    assert "<b>" not in html and "<i>" not in html


def test_page_api_and_download_say_what_the_values_are_and_what_produced_them(client, world):
    page = client.get(reverse("search:gene", args=["PTGS2"])).content.decode()
    assert "predicted only by this model" in page
    assert "controls all, gamma 1, at least 2 replicates" in page
    landmark = client.get("/api/genes/STAT3/signatures/").json()
    assert landmark["gene"]["status_note"] == "measured by L1000; values shown are the model's RNA-seq-like predictions"
    assert landmark["release"] == {
        "name": "r1", "model_version": "two-step 1.0 (tiny)", "dataset": "ds-r1", "controls": "all", "gamma": 1.0, "min_replicates": 2,
        "precision": "fp32", "device": "cpu", "stored_as": "float32",
    }
    inferred = client.get("/genes/SFRP2/download.csv").content.decode().splitlines()[0]
    assert "inferred by CMap from the landmarks" in inferred and "controls all; gamma 1; min replicates 2" in inferred
    assert "not among the model's output genes" in client.get("/api/genes/NOTOUT1/").json()["status_note"]


def test_knockouts_link_to_their_gene_mark_the_queried_gene_itself_and_compounds_show_their_mechanism(client, world):
    r = client.get(reverse("search:gene", args=["TP53"]), {"type": ["crispr", "chemical"], "limit": 20})
    html = r.content.decode()
    hits = [h for s in r.context["sections"] for hl in s["lists"] for h in hl.hits]
    knockouts = [h for h in hits if h.signature.pert_type == "crispr"]
    assert knockouts and all(h.self_target == (h.signature.target_gene == "TP53") for h in knockouts)
    assert any(h.self_target for h in knockouts), "the world knocks TP53 out in some signatures"
    assert not any(h.self_target for h in hits if h.signature.pert_type == "chemical")
    assert 'class="target-gene" href="/genes/MYC/"' in html and "self: the target" in html
    assert "MEK inhibitor · MAP2K1, MAP2K2" in html
    api = client.get("/api/genes/TP53/signatures/", {"type": "crispr", "limit": 20}).json()["results"]
    assert {(h["target_gene"], h["self_target"]) for h in api} >= {("TP53", True), ("MYC", False)}
    rows = client.get("/genes/TP53/download.tsv", {"type": "crispr", "direction": "up", "limit": 20}).content.decode().splitlines()
    header = rows[1].split("\t")
    flagged = {r.split("\t")[header.index("target_gene")]: r.split("\t")[header.index("self_target")] for r in rows[2:]}
    assert flagged.get("TP53", "yes") == "yes" and all(v == "no" for k, v in flagged.items() if k != "TP53")
