"""The API's JSON written from each output serializer's plan equals what DRF's generic to_representation writes, on every endpoint."""

import json

import pytest
from django.core.cache import cache

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
    assert hits and hits[0]["signature_url"].startswith("http://testserver/signatures/")
    assert any(hit["dose"] is None for hit in hits) and any(hit["dose"] is not None for hit in hits)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_output_serializer_has_a_plan():
    """A field kind the plans do not know would make its serializer fall back to DRF without a word."""
    without = [cls.__name__ for cls in _subclasses(ours.OutputSerializer) if cls._output_plan() is None]
    assert without == []
