"""Bad parameters get a 400 or 404 with one sentence, on pages, downloads and the API; never a 500."""

import pytest
from django.urls import reverse

from conversion.models import Gene
from signatures.models import Signature

pytestmark = pytest.mark.django_db

BAD = [
    ({"metric": "pvalue"}, 400, "Unknown ranking metric 'pvalue'; expected one of cd, logfc, rank."),
    ({"limit": "-5"}, 400, "Parameter 'limit' must be between 1 and 1000, found -5."),
    ({"limit": "100000000"}, 400, "Parameter 'limit' must be between 1 and 1000, found 100000000."),
    ({"limit": "ten"}, 400, "Parameter 'limit' must be a whole number, found 'ten'."),
    ({"offset": "-1"}, 400, "Parameter 'offset' must be between 0 and 1000000, found -1."),
    ({"cell_line": "A548"}, 400, "Unknown cell line 'A548' in this release. Did you mean A549?"),
    ({"cell_line": "a549"}, 400, "Unknown cell line 'a549'. Did you mean A549?"),
    ({"cell_line": "A549' OR '1'='1"}, 400, "Unknown cell line 'A549' OR '1'='1' in this release."),
    ({"type": "trt_cp"}, 400, "Unknown perturbation type 'trt_cp'; expected one of crispr, chemical, shrna, overexpression, ligand, other."),
    ({"direction": "sideways"}, 400, "Parameter 'direction' must be up or down, found 'sideways'."),
    ({"dose": "nan"}, 400, "Parameter 'dose' must be a finite number >= 0, found 'nan'."),
    ({"time": "1e999"}, 400, "Parameter 'time' must be a finite number >= 0, found '1e999'."),
    ({"metric": ["cd", "rank"]}, 400, "Parameter 'metric' takes one value, found 2: cd, rank."),
]


@pytest.mark.parametrize("params,status,message", BAD)
def test_api_refuses_bad_parameters_with_a_json_message(client, world, params, status, message):
    r = client.get(reverse("search:api-gene-signatures", args=["STAT3"]), params)
    assert r.status_code == status
    assert r.json() == {"detail": message}


@pytest.mark.parametrize("params,status,message", BAD)
def test_page_and_download_refuse_bad_parameters_with_the_same_message(client, world, params, status, message):
    from django.utils.html import escape

    r = client.get(reverse("search:gene", args=["STAT3"]), params)
    assert r.status_code == status
    assert escape(message) in r.content.decode()
    if params.get("limit") == "100000000":
        return  # downloads allow larger tables (up to 5000 rows); covered below
    r = client.get(reverse("search:download", args=["STAT3", "csv"]), params)
    assert r.status_code == status and r.content.decode().strip() == message.replace("1000,", "5000,")


def test_download_limit_is_capped(client, world):
    r = client.get(reverse("search:download", args=["STAT3", "tsv"]), {"limit": "100000000"})
    assert r.status_code == 400 and "between 1 and 5000" in r.content.decode()


@pytest.mark.parametrize("symbol", ["SFRP22", "NOSUCHGENE", "STAT3'--", "<img src=x onerror=alert(1)>", "x" * 300, "99999999999999999999999"])
def test_unknown_or_hostile_gene_is_a_404_everywhere(client, world, symbol):
    for name in ("search:gene", "search:api-gene", "search:api-gene-signatures"):
        r = client.get(reverse(name, args=[symbol]))
        assert r.status_code == 404, (name, symbol)
    assert "<img src=x" not in client.get(reverse("search:gene", args=[symbol])).content.decode()  # escaped in HTML
    r = client.get(reverse("search:api-gene", args=[symbol]))
    assert r.json()["detail"].startswith("Unknown gene")


def test_unknown_gene_in_the_api_suggests_the_closest(client, world):
    r = client.get(reverse("search:api-gene-signatures", args=["SFRP22"]))
    assert r.json() == {"detail": "Unknown gene 'SFRP22'. Did you mean SFRP2?"}


def test_bad_requests_change_nothing(client, world):
    before = (Gene.objects.count(), Signature.objects.count())
    client.get(reverse("search:api-gene-signatures", args=["STAT3"]), {"cell_line": "x'; DELETE FROM signatures_signature; --"})
    client.get(reverse("search:gene", args=["'; DROP TABLE search_gene; --"]))
    assert (Gene.objects.count(), Signature.objects.count()) == before


def test_unknown_download_format_is_a_404(client, world):
    assert client.get("/genes/STAT3/download.pdf").status_code == 404


ODD_URLS = [
    "/genes/?q=%C2%B2",  # superscript two: str.isdigit() is true, int() refuses it
    "/genes/%C2%B2/",
    "/api/genes/?q=%C2%B2",
    "/api/genes/%C2%B2/",
    "/api/genes/?q=STAT&limit=%C2%B2",
    "/genes/?q=A%00B",  # NUL: PostgreSQL text cannot hold it
    "/genes/A%00B/",
    "/api/genes/?q=A%00",
    "/api/genes/A%00/",
    "/api/signatures/a%00b/",
]


@pytest.mark.parametrize("url", ODD_URLS)
def test_odd_characters_in_queries_answer_400_or_404_never_500(client, world, url):
    r = client.get(url)
    assert r.status_code in (200, 400, 404), (url, r.status_code)
