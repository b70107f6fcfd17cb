"""The API's JSON written from each output serializer's plan equals what DRF's generic to_representation writes, on every endpoint."""

import json

import pytest
from django.core.cache import cache
from django.urls import reverse

from search import serializers as ours

pytestmark = pytest.mark.django_db

GETS = [
    "/api/genes/?q=STA",
    "/api/genes/SARP1/",
    "/api/genes/STAT3/signatures/",
    "/api/genes/STAT3/signatures/?type=crispr&direction=down&limit=5&offset=2",
    "/api/genes/TP53/signatures/?cell_line=A375&metric=logfc",
    "/api/genes/STAT3/perturbagens/",
    "/api/genes/STAT3/mechanisms/?type=chemical",
    "/api/cell-lines/",
    "/api/perturbation-types/",
    "/api/sets/search/?up=STAT3,SARP1,7157,CDKN1A,PTGS2&down=STAT1,STAT4,IL6,MYC,BRCA1&limit=5",
]


def _answers(client, world, generic: bool, monkeypatch) -> list:
    monkeypatch.setattr(ours.OutputSerializer, "generic", generic)
    cache.clear()  # no answer of one mode from the response cache of the other
    sig = world.signatures[0].sig_id
    posted = client.post("/api/sets/search/", json.dumps({"up": ["STAT3", "SFRP2", "TP53", "CDKN1A", "PTGS2"], "down": ["STAT1", "STAT4", "IL6", "MYC", "BRCA1", "NOSUCHGENE"]}), content_type="application/json")
    answers = [posted.status_code, posted.json()]
    for path in GETS + [f"/api/signatures/{sig}/?n=4", f"/api/sets/{posted.json()['id']}/"]:
        r = client.get(path)
        answers += [path, r.status_code, r.json()]
    return answers


def test_every_endpoint_answers_the_same_from_the_plans_and_from_drf(client, world, monkeypatch):
    planned = _answers(client, world, False, monkeypatch)
    generic = _answers(client, world, True, monkeypatch)
    assert planned == generic
    assert all(code == 200 for code in planned[0::3]), planned[2::3]
    hits = planned[planned.index("/api/genes/STAT3/signatures/") + 2]["results"]  # /api/genes/STAT3/signatures/: plain values, nulls, links
    assert hits and all(hit["signature_url"] == "http://testserver" + reverse("search:signature", args=[hit["sig_id"]]) for hit in hits)
    assert any(hit["dose"] is None for hit in hits) and any(hit["dose"] is not None for hit in hits)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_output_serializer_has_a_plan():
    """A field kind the plans do not know would make its serializer fall back to DRF without a word."""
    without = [cls.__name__ for cls in _subclasses(ours.OutputSerializer) if cls._output_plan() is None]
    assert without == []


@pytest.mark.parametrize("sig_id", ["LJP005_A375_24H:BRD-K21680192:10:24", "a b%c?d#e&f=g'h\"i<j>k~l@m+n", "DIVR.BASE003_NCIH522_24H_X1.A2:XPR:-:96"])
def test_a_hits_signature_url_is_the_absolute_uri_of_its_page(rf, settings, sig_id):
    settings.ALLOWED_HOSTS = ["l1kweb.example.org"]
    from search.query import Hit, SignatureRow

    request = rf.get("/api/genes/STAT3/signatures/", HTTP_HOST="l1kweb.example.org")
    row = SignatureRow(sig_id, 0, "chemical", "BRD", "drug", "A375", 1.0, "uM", 24.0, "h", "B", 3, 12, "all", "", "", "")
    (hit,) = ours.HitSerializer([Hit(1, row, 0.5, 1.0, 1)], many=True, context={"request": request}).data
    assert hit["signature_url"] == request.build_absolute_uri(reverse("search:signature", args=[sig_id]))
