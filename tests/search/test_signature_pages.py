"""A signature's page, API and downloads: its genes ranked by CD as an independent plain sort of the store's values,
genes without a CD left out and counted, the full table equal to the store, links from the gene pages."""

import csv
import io
import json
import math
import re
from html import escape

import numpy as np
import pytest
from django.urls import reverse
from rest_framework.throttling import AnonRateThrottle

from search.signature_genes import top_genes
from signatures.models import Signature
from signatures.store import open_store
from tests.search.factories import make_release

pytestmark = pytest.mark.django_db

CD_DIGITS = 1e-5  # downloads write 6 significant digits (search.downloads); pages and the API the float itself


@pytest.fixture
def world(db, data_dir):
    return make_release(data_dir, constant_gene="IL6")  # IL6 has no CD in every even column


def _store(world):
    return open_store(world.release.store_dir)


def reference_top(cd, n, direction):
    """Gene positions regulated in `direction`, strongest first, by plain sorted() (ties by position); NaN never qualifies."""
    values = [float(v) for v in cd]
    items = [(-v if direction == "up" else v, i) for i, v in enumerate(values) if (v > 0 if direction == "up" else v < 0)]
    return [i for _, i in sorted(items)][:n]


def _page_rows(html, direction):
    table = re.search(rf'<table[^>]* id="genes-{direction}"[^>]*>(.*?)</table>', html, re.S)
    return [int(e) for e in re.findall(r'<tr data-gene="(\d+)">', table.group(1))] if table else []


def _figure(html):
    start = html.index('<script id="volcano-figures" type="application/json">') + len('<script id="volcano-figures" type="application/json">')
    return json.loads(html[start : html.index("</script>", start)])["volcano-signature"]


def _url(sig_id, **query):
    return reverse("search:signature", args=[sig_id]) + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_top_genes_break_ties_by_gene_position_and_skip_missing_coefficients():
    cd = np.array([0.5, np.nan, 0.5, -0.2, 0.0, -0.2, 0.7], dtype=np.float32)
    assert top_genes(cd, 10, direction="up").tolist() == [6, 0, 2]
    assert top_genes(cd, 2, direction="up").tolist() == [6, 0]
    assert top_genes(cd, 10, direction="down").tolist() == [3, 5]


@pytest.mark.parametrize("column", [0, 1, 7, 42])
def test_page_and_api_lists_equal_a_plain_sort_of_the_store_values(client, world, column):
    sig = world.signatures[column]
    store = _store(world)
    cd, logfc = store.read_signature(column)
    html = client.get(_url(sig.sig_id, n=4)).content.decode()
    body = client.get(reverse("search:api-signature", args=[sig.sig_id]), {"n": 4}).json()
    for direction in ("up", "down"):
        expected = reference_top(cd, 4, direction)
        assert _page_rows(html, direction) == [int(store.gene_entrez_ids[i]) for i in expected]
        got = body[direction]
        assert [g["entrez_id"] for g in got] == [int(store.gene_entrez_ids[i]) for i in expected]
        assert [g["symbol"] for g in got] == [store.symbols[i] for i in expected]
        assert [g["cd"] for g in got] == pytest.approx([float(cd[i]) for i in expected], abs=1e-7)
        assert [g["log2fc"] for g in got] == pytest.approx([float(logfc[i]) for i in expected], abs=1e-7)
        # The rank is the gene's rank inside the signature as the store recorded it, per direction.
        stored = [int(store.read_gene(store.gene_entrez_ids[i]).rank_up[column]) for i in expected]
        assert [g["rank"] for g in got] == (stored if direction == "up" else [store.n_genes + 1 - r for r in stored])
        assert [g["rank"] for g in got] == list(range(1, len(got) + 1))
        assert all(g["status"] == world.genes[g["symbol"]].status and g["url"].endswith(f"/genes/{g['symbol']}/") for g in got)


def test_n_sets_the_length_of_every_list_and_defaults_to_250(client, world):
    sig = world.signatures[3]
    cd, _ = _store(world).read_signature(3)
    html = client.get(_url(sig.sig_id, n=2)).content.decode()
    assert len(_page_rows(html, "up")) == len(_page_rows(html, "down")) == 2
    assert 'href="/signatures/{0}/up.txt?n=2"'.format(sig.sig_id) in html
    body = client.get(reverse("search:api-signature", args=[sig.sig_id])).json()
    assert body["n"] == 250
    assert len(body["up"]) == int((cd > 0).sum()) and len(body["down"]) == int((cd < 0).sum())  # 10 genes: all of them


def test_genes_without_a_cd_are_in_no_list_and_not_plotted_and_are_counted(client, world):
    il6 = world.genes["IL6"].entrez_id
    with_nan, without = world.signatures[2], world.signatures[3]
    r = client.get(_url(with_nan.sig_id, n=2000))
    html = r.content.decode()
    assert il6 not in _page_rows(html, "up") + _page_rows(html, "down")
    assert len(_page_rows(html, "up")) + len(_page_rows(html, "down")) == len(world.gene_ids) - 1
    plotted = [point[0] for trace in _figure(html)["data"] for point in trace["customdata"]]
    assert il6 not in plotted and sorted(plotted) == sorted(int(g) for g in world.gene_ids if g != il6)
    assert "1 of 10 genes have no CD in this signature" in html
    body = client.get(reverse("search:api-signature", args=[with_nan.sig_id]), {"n": 2000}).json()
    assert body["n_without_cd"] == 1 and il6 not in [g["entrez_id"] for g in body["up"] + body["down"]]
    assert client.get(reverse("search:api-signature", args=[without.sig_id])).json()["n_without_cd"] == 0
    assert "have no CD" not in client.get(_url(without.sig_id)).content.decode()


def test_volcano_plots_every_gene_by_log2fc_and_absolute_cd_coloured_by_concordance(client, world):
    column = 5
    cd, logfc = _store(world).read_signature(column)
    ids = [int(g) for g in _store(world).gene_entrez_ids]
    traces = {t["name"]: t for t in _figure(client.get(_url(world.signatures[column].sig_id)).content.decode())["data"]}
    for name, trace in traces.items():
        for x, y, (entrez, *_rest) in zip(trace["x"], trace["y"], trace["customdata"]):
            i = ids.index(entrez)
            assert x == pytest.approx(float(logfc[i]), abs=1e-6) and y == pytest.approx(abs(float(cd[i])), abs=1e-6)
            concordant_up, concordant_down = cd[i] > 0 and logfc[i] >= 0, cd[i] < 0 and logfc[i] <= 0
            assert {"Up (concordant)": concordant_up, "Down (concordant)": concordant_down, "Discordant": cd[i] * logfc[i] < 0}[name]
    assert sum(len(t["x"]) for t in traces.values()) == len(ids)
    assert traces["Discordant"]["marker"]["color"] == ["rgb(158,158,158)"] * len(traces["Discordant"]["x"])


def test_page_shows_the_signature_metadata_and_links_a_knockout_to_its_target_gene(client, world):
    knockout, compound = world.signatures[0], world.signatures[1]
    html = client.get(_url(knockout.sig_id)).content.decode()
    assert f'<a class="target-gene" id="signature-target" href="/genes/{knockout.target_gene}/">{knockout.target_gene}</a>' in html
    assert f"<dd>{knockout.batch}</dd>" in html and f"<dd>{knockout.n_replicates}</dd>" in html and "all (12 profiles)" in html
    assert "Release <strong>r1</strong>" in html and "precision fp32 on cpu, stored as float32" in html
    html = client.get(_url(compound.sig_id)).content.decode()
    assert compound.pert_moa and f"<dd>{compound.pert_moa.replace('|', ', ')}</dd>" in html and "10 uM" in html


def test_tsv_holds_every_store_gene_with_the_store_values_and_a_provenance_line(client, world):
    column = 4  # even: IL6 has no CD
    sig = world.signatures[column]
    store = _store(world)
    cd, logfc = store.read_signature(column)
    r = client.get(reverse("search:signature-download", args=[sig.sig_id, "tsv"]))
    assert r.status_code == 200 and r["Content-Type"].startswith("text/tab-separated-values")
    assert r["Content-Disposition"] == f'attachment; filename="l1kweb_{sig.sig_id.replace(":", "_")}_r1.tsv"'
    lines = r.content.decode().splitlines()
    assert lines[0].startswith("# l1kweb release r1; model two-step 1.0 (tiny); precision fp32 on cpu, stored as float32; dataset ds-r1; controls all;")
    assert f"signature {sig.sig_id} (perturbagen {sig.pert_name} ({sig.pert_id}); type chemical;" in lines[0]
    assert lines[0].endswith("genes 10; without CD 1 (the model predicts them as constant among the signature's profiles)")
    rows = list(csv.DictReader(io.StringIO("\n".join(lines[1:])), delimiter="\t"))
    assert list(rows[0]) == ["entrez_id", "symbol", "cd", "log2fc", "rank_up", "status"]
    assert [int(row["entrez_id"]) for row in rows] == store.gene_entrez_ids.tolist()
    assert [row["symbol"] for row in rows] == list(store.symbols)
    for i, row in enumerate(rows):
        entrez = int(row["entrez_id"])
        assert float(row["log2fc"]) == pytest.approx(float(logfc[i]), rel=CD_DIGITS, abs=1e-7)
        assert row["status"] == next(g.status for g in world.genes.values() if g.entrez_id == entrez)
        if math.isnan(cd[i]):
            assert row["cd"] == "" and row["rank_up"] == "" and row["symbol"] == "IL6"
        else:
            assert float(row["cd"]) == pytest.approx(float(cd[i]), rel=CD_DIGITS)
            assert int(row["rank_up"]) == int(store.read_gene(entrez).rank_up[column])
    csv_rows = list(csv.reader(io.StringIO(client.get(reverse("search:signature-download", args=[sig.sig_id, "csv"])).content.decode())))
    assert csv_rows[0][0].startswith("# l1kweb release r1") and [r[0] for r in csv_rows[2:]] == [row["entrez_id"] for row in rows]


def test_enrichr_lists_are_the_top_n_symbols_one_per_line(client, world):
    column = 6
    sig = world.signatures[column]
    store = _store(world)
    cd, _ = store.read_signature(column)
    for direction in ("up", "down"):
        r = client.get(reverse("search:signature-enrichr", args=[sig.sig_id, direction]), {"n": 3})
        assert r.status_code == 200 and r["Content-Type"] == "text/plain; charset=utf-8"
        assert r.content.decode().splitlines() == [store.symbols[i] for i in reference_top(cd, 3, direction)]


def test_an_unknown_signature_is_a_404_with_one_sentence_everywhere(client, world):
    r = client.get(_url("nope"))
    assert r.status_code == 404 and "No signature &#x27;nope&#x27; in release r1." in r.content.decode()
    assert client.get(reverse("search:api-signature", args=["nope"])).json() == {"detail": "No signature 'nope' in release r1."}
    r = client.get(reverse("search:signature-download", args=["nope", "tsv"]))
    assert r.status_code == 404 and r.content.decode() == "No signature 'nope' in release r1.\n"
    assert client.get(reverse("search:signature-enrichr", args=["nope", "up"])).status_code == 404


@pytest.mark.parametrize("n, message", [("0", "Parameter 'n' must be between 1 and 2000, found 0."), ("2001", "Parameter 'n' must be between 1 and 2000, found 2001."), ("ten", "Parameter 'n' must be a whole number, found 'ten'.")])
def test_a_bad_n_is_a_400_with_one_sentence_everywhere(client, world, n, message):
    sig_id = world.signatures[1].sig_id
    r = client.get(_url(sig_id), {"n": n})
    assert r.status_code == 400 and message.replace("'", "&#x27;") in r.content.decode()
    r = client.get(reverse("search:api-signature", args=[sig_id]), {"n": n})
    assert r.status_code == 400 and r.json() == {"detail": message}
    r = client.get(reverse("search:signature-enrichr", args=[sig_id, "down"]), {"n": n})
    assert r.status_code == 400 and r.content.decode() == message + "\n"


def test_the_page_reads_a_blank_n_as_absent_and_the_api_refuses_it(client, world):
    sig_id = world.signatures[1].sig_id
    assert client.get(_url(sig_id), {"n": ""}).status_code == 200
    assert client.get(reverse("search:api-signature", args=[sig_id]), {"n": ""}).json() == {"detail": "Parameter 'n' must be a whole number, found ''."}


def test_an_id_with_dots_dashes_and_colons_has_a_page(client, world):
    sig_id = "DIVR.BASE003_NCIH522_24H:BRD-K21680192:0.5:24"
    Signature.objects.filter(pk=world.signatures[1].pk).update(sig_id=sig_id)
    assert _url(sig_id) == f"/signatures/{sig_id}/"
    r = client.get(_url(sig_id))
    assert r.status_code == 200 and f"<code>{sig_id}</code>" in r.content.decode()
    assert client.get(reverse("search:api-signature", args=[sig_id])).json()["url"] == f"http://testserver/signatures/{sig_id}/"


@pytest.mark.parametrize("sig_id", ["LJP005_A375_24H:BRD-K21680192:10:24", "a b%c?d#e&f=g'h\"i<j>k~l@m+n", "DIVR.BASE003_NCIH522_24H_X1.A2:XPR:-:96", "CAFÉ_A375_6H:Ω1"])
def test_hit_rows_write_the_signature_link_as_reverse_does(sig_id):
    from search.query import Hit, HitList, SignatureRow
    from search.templatetags.search_tags import hit_rows

    row = SignatureRow(sig_id, 0, "chemical", "BRD", "drug", "A375", 1.0, "uM", 24.0, "h", "B", 3, 12, "all", "", "", "")
    html = hit_rows(HitList(pert_types=("chemical",), direction="up", metric="cd", offset=0, limit=1, hits=[Hit(1, row, 0.5, 1.0, 1)]))
    assert f'<a class="sig-link" href="{escape(reverse("search:signature", args=[sig_id]))}"' in html
    from search.serializers import signature_path

    assert signature_path(sig_id) == reverse("search:signature", args=[sig_id])  # the API's signature_url too


def test_gene_page_hit_rows_and_api_hits_link_to_their_signature_page(client, world):
    html = client.get(reverse("search:gene", args=["STAT3"])).content.decode()
    rows = re.findall(r'<tr data-sig="([^"]+)"[^>]*>(.*?)</tr>', html, re.S)
    assert rows
    for sig_id, cells in rows:
        assert f'<a class="sig-link" href="/signatures/{sig_id}/"' in cells
    assert client.get(_url(rows[0][0])).status_code == 200
    hits = client.get(reverse("search:api-gene-signatures", args=["STAT3"]), {"limit": 3}).json()["results"]
    assert [h["signature_url"] for h in hits] == [f"http://testserver/signatures/{h['sig_id']}/" for h in hits]


def test_an_unreadable_store_is_a_503_that_names_no_server_path(client, world):
    (world.release.store_dir / "store.json").unlink()
    sig_id = world.signatures[1].sig_id
    r = client.get(_url(sig_id))
    assert r.status_code == 503 and "the signature store of release r1 is unavailable" in r.content.decode()
    assert str(world.release.store_dir) not in r.content.decode()
    r = client.get(reverse("search:api-signature", args=[sig_id]))
    assert r.status_code == 503 and "unavailable" in r.json()["detail"]
    assert client.get(reverse("search:signature-download", args=[sig_id, "csv"])).status_code == 503


def test_without_an_active_release_the_page_says_so(client, world):
    world.release.is_active = False
    world.release.save()
    r = client.get(_url(world.signatures[1].sig_id))
    assert r.status_code == 503 and "No release is active yet" in r.content.decode()


def test_page_costs_three_queries_and_is_cached(client, world, django_assert_max_num_queries):
    url = _url(world.signatures[1].sig_id)
    client.get("/")  # warms the demo-banner check, which every page shares
    with django_assert_max_num_queries(3):  # release, signature, the genes' symbols and statuses
        r = client.get(url)
    assert r.status_code == 200 and r.has_header("ETag")
    with django_assert_max_num_queries(1):  # the active release: the rest comes from the cache
        again = client.get(url)
    assert again.content == r.content
    with django_assert_max_num_queries(2):  # another signature: release and signature; the genes' names are kept per release
        other = client.get(_url(world.signatures[2].sig_id))
    assert other.status_code == 200


def test_gene_names_are_read_again_after_the_cache_timeout(client, world, settings, monkeypatch):
    from conversion.models import Gene
    from search import signature_genes

    sig = world.signatures[1].sig_id
    before = client.get(f"/api/signatures/{sig}/", {"n": 2000}).json()
    Gene.objects.filter(symbol="STAT3").update(symbol="STAT3X")
    now = signature_genes.time.time()
    monkeypatch.setattr(signature_genes.time, "time", lambda: now + settings.RESPONSE_CACHE_TIMEOUT)
    after = client.get(f"/api/signatures/{sig}/", {"n": 2000, "fresh": 1}).json()
    symbols = lambda body: {g["symbol"] for g in body["up"] + body["down"]}  # noqa: E731
    assert "STAT3" in symbols(before) and "STAT3X" in symbols(after) and "STAT3" not in symbols(after)


def test_pages_and_downloads_are_throttled_with_the_other_pages(client, world, monkeypatch):
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "100/minute", "pages": "1/minute", "downloads": "1/minute"})
    sig_id = world.signatures[1].sig_id
    assert [client.get(_url(sig_id)).status_code for _ in range(2)] == [200, 429]
    url = reverse("search:signature-enrichr", args=[sig_id, "up"])
    assert [client.get(url).status_code for _ in range(2)] == [200, 429]


def test_the_schema_documents_n_and_every_status_code(client, world):
    op = client.get("/api/schema/", {"format": "json"}).json()["paths"]["/api/signatures/{sig_id}/"]["get"]
    assert set(op["responses"]) == {"200", "400", "404", "429", "503"}
    n = next(p for p in op["parameters"] if p["name"] == "n")
    assert (n["schema"]["minimum"], n["schema"]["maximum"], n["schema"]["default"]) == (1, 2000, 250)


def test_hit_rows_link_each_target_gene_as_reverse_does_however_often_it_repeats():
    from search.query import Hit, HitList, SignatureRow
    from search.templatetags.search_tags import hit_rows

    genes = ["TP53", "HLA-A", "MYC", "TP53", "C1orf&2", "HLA-A", "TP53"]
    rows = [SignatureRow(f"XPR_A375_96H:{g}:{i}", i, "crispr", f"XPR-{g}", f"sg{g}", "A375", None, "", 96.0, "h", "B", 3, 12, "all", g, "", "") for i, g in enumerate(genes)]
    html = hit_rows(HitList(pert_types=("crispr",), direction="up", metric="cd", offset=0, limit=len(rows), hits=[Hit(i + 1, r, 0.5, 1.0, i + 1) for i, r in enumerate(rows)]))
    links = re.findall(r'<a class="target-gene" href="([^"]*)"', html)
    assert links == [escape(reverse("search:gene", args=[g])) for g in genes]
