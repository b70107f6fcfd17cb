"""The API's orjson renderer writes the JSON values DRF's renderer writes, for every kind of value an answer holds."""

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer as DRFJSONRenderer

from search.renderers import JSONRenderer


@dataclass
class _Point:
    x: float


def _values():
    return {
        "text": "STAT3 \u00e9 \u4e2d <b>&</b> \"quoted\"",
        "separators": "a\u2028b\u2029c",
        "numbers": [0, -1, 2**53, 0.1, 1.2345678e-05, 1e16, -3.25, 5e-324, 1.7976931348623157e308],
        "flags": [True, False, None],
        "nested": {"list": [{"a": [1, {"b": "c"}]}], "empty": {}, "tuple": (1, 2)},
        "when": dt.datetime(2026, 12, 6, 21, 30, 5, 123456, tzinfo=dt.timezone.utc),
        "naive": dt.datetime(2026, 12, 6, 21, 30),
        "day": dt.date(2026, 12, 6),
        "decimal": Decimal("1.50"),
        "lazy": gettext_lazy("lazy text"),
        "numpy": [np.float32(0.5), np.int64(7), np.array([1.0, 2.0])],
    }


def test_every_kind_of_value_is_written_as_drf_writes_it():
    ours, drf = JSONRenderer().render(_values()), DRFJSONRenderer().render(_values())
    assert json.loads(ours) == json.loads(drf)
    assert b"\\u2028" in ours and b"\\u2029" in ours and "\u2028".encode() not in ours  # a JavaScript literal too, as DRF's
    assert "\u00e9".encode() in ours  # UTF-8, not \u escapes (UNICODE_JSON)


def test_an_indented_answer_is_drfs_own():
    context = {"indent": 2}
    assert JSONRenderer().render({"a": [1, 2.5]}, "application/json; indent=2", context) == DRFJSONRenderer().render({"a": [1, 2.5]}, "application/json; indent=2", context)


@pytest.mark.parametrize("value", [object(), _Point(1.5)], ids=["object", "dataclass"])
def test_a_value_drf_cannot_write_is_refused(value):
    with pytest.raises(TypeError):
        DRFJSONRenderer().render({"x": value})
    with pytest.raises(TypeError):
        JSONRenderer().render({"x": value})


def test_no_data_is_no_content():
    assert JSONRenderer().render(None) == b"" == DRFJSONRenderer().render(None)


@pytest.mark.django_db
def test_the_api_answers_with_this_renderer(client, world):
    from rest_framework.settings import api_settings

    assert api_settings.DEFAULT_RENDERER_CLASSES[0] is JSONRenderer
    response = client.get("/api/genes/STAT3/signatures/?type=crispr")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    data = response.json()
    assert response.content == JSONRenderer().render(data)
