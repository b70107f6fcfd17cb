"""Pages and downloads are rate-limited per client like the API, each with its own rate; signed-in users are not."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from rest_framework.throttling import AnonRateThrottle

pytestmark = pytest.mark.django_db

RATES = {"anon": "100/minute", "pages": "3/minute", "downloads": "2/minute"}


@pytest.fixture
def rates(monkeypatch):
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", RATES)


def test_pages_answer_429_with_retry_after_beyond_their_rate(client, world, rates):
    urls = ["/", reverse("search:gene_search") + "?q=STAT3", reverse("search:gene", args=["STAT3"])]
    assert [client.get(u).status_code for u in urls] == [200, 302, 200]
    r = client.get(reverse("search:gene", args=["STAT3"]))
    assert r.status_code == 429
    assert int(r["Retry-After"]) >= 1
    assert "Too many requests from your address: at most 3/minute." in r.content.decode()
    assert client.get(reverse("search:api-gene-signatures", args=["STAT3"])).status_code == 200  # the API keeps its own count


def test_downloads_have_their_own_lower_rate_and_answer_in_text(client, world, rates):
    url = reverse("search:download", args=["STAT3", "tsv"])
    assert [client.get(url).status_code for _ in range(2)] == [200, 200]
    r = client.get(url)
    assert r.status_code == 429 and r["Content-Type"].startswith("text/plain")
    assert r.content.decode().startswith("Too many requests from your address: at most 2/minute.")
    assert client.get(reverse("search:gene", args=["STAT3"])).status_code == 200  # pages are counted apart


def test_clients_are_counted_apart_and_signed_in_users_are_not_limited(client, world, rates):
    url = reverse("search:gene", args=["STAT3"])
    assert [client.get(url, REMOTE_ADDR="10.0.0.1").status_code for _ in range(4)][-1] == 429
    assert client.get(url, REMOTE_ADDR="10.0.0.2").status_code == 200
    user = get_user_model().objects.create_user("reader", password="a long enough password")
    client.force_login(user)
    assert {client.get(url, REMOTE_ADDR="10.0.0.1").status_code for _ in range(5)} == {200}
