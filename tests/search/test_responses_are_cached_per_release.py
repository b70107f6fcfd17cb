"""Responses are cached per active release: identical to uncached ones, revalidated by ETag, renewed by a new release."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from signatures.models import Release
from tests.search.factories import make_release

pytestmark = pytest.mark.django_db

API = reverse("search:api-gene-signatures", args=["STAT3"])
PAGE = reverse("search:gene", args=["STAT3"])
DOWNLOAD = reverse("search:download", args=["STAT3", "csv"])
QUERY = {"type": "chemical", "direction": "down", "metric": "rank", "cell_line": "A549"}


def _queries(client, url, params=None, **headers):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params or {}, **headers)
    return response, len(queries)


@pytest.mark.parametrize("url", [API, PAGE, DOWNLOAD])
def test_a_cached_response_is_the_uncached_one_and_costs_one_query(client, world, url):
    first, cold = _queries(client, url, QUERY)
    again, warm = _queries(client, url, QUERY)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"] and again.get("Content-Disposition") == first.get("Content-Disposition")
    assert warm == 1 < cold  # the active release's row, nothing else
    cache.clear()
    assert client.get(url, QUERY).content == first.content


@pytest.mark.parametrize("first_accept", ["application/json", "text/html"])
def test_a_cached_answer_serves_json_and_the_browsable_api_alike(client, world, first_accept):
    first = client.get(API, QUERY, HTTP_ACCEPT=first_accept)
    json_again = client.get(API, QUERY, HTTP_ACCEPT="application/json")
    html_again = client.get(API, QUERY, HTTP_ACCEPT="text/html")
    cache.clear()
    json_fresh = client.get(API, QUERY, HTTP_ACCEPT="application/json")
    cache.clear()
    html_fresh = client.get(API, QUERY, HTTP_ACCEPT="text/html")
    assert first.status_code == json_again.status_code == html_again.status_code == 200
    assert json_again.content == json_fresh.content
    for name in ("Content-Type", "Vary", "Allow", "ETag", "Cache-Control"):
        assert json_again[name] == json_fresh[name] and html_again[name] == html_fresh[name]
    assert html_again["Content-Type"].startswith("text/html")
    sig_id = json_fresh.json()["results"][0]["sig_id"]
    assert sig_id in html_again.content.decode() and html_again.content.count(b"sig_id") == html_fresh.content.count(b"sig_id")


def test_the_parameter_order_does_not_matter_but_repeated_values_keep_theirs(client, world):
    a = client.get(API + "?metric=rank&type=chemical&direction=down")
    b = client.get(API + "?direction=down&type=chemical&metric=rank")
    assert a["ETag"] == b["ETag"] and a.content == b.content
    page_ab = client.get(PAGE + "?type=crispr&type=chemical")
    page_ba = client.get(PAGE + "?type=chemical&type=crispr")
    assert page_ab["ETag"] != page_ba["ETag"]  # the page shows the types in the order asked


def test_if_none_match_gets_a_304_before_anything_is_computed(client, world):
    first = client.get(API, QUERY)
    assert first["Cache-Control"] == "public, max-age=60" and first["ETag"].startswith('"')
    response, n = _queries(client, API, QUERY, HTTP_IF_NONE_MATCH=first["ETag"])
    assert response.status_code == 304 and response.content == b"" and response["ETag"] == first["ETag"]
    assert n == 1
    assert client.get(API, QUERY, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200


def test_a_new_active_release_renews_every_response(client, world, data_dir):
    before = client.get(API, {"limit": 5})
    other = make_release(data_dir, name="r2", seed=7, active=False, genes=world.genes)
    Release.objects.filter(pk=world.release.pk).update(is_active=False)
    Release.objects.filter(pk=other.release.pk).update(is_active=True)
    after = client.get(API, {"limit": 5}, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200 and after["ETag"] != before["ETag"]
    assert after.json()["release"]["name"] == "r2" and after.json()["results"] != before.json()["results"]


def test_errors_and_signed_in_users_are_never_cached(client, world):
    assert "ETag" not in client.get(API, {"metric": "nonsense"})
    assert "ETag" not in client.get(reverse("search:api-gene-signatures", args=["NOSUCHGENE"]))
    staff = get_user_model().objects.create_user("staff", password="a long enough password", is_staff=True)
    client.force_login(staff)
    response = client.get(PAGE)
    assert response.status_code == 200 and "ETag" not in response and b"Admin</a>" in response.content
