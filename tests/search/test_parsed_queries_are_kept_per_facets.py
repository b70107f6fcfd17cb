"""A query's parse is kept per process: the same answer as a fresh parse, per facets and options, errors never kept."""

import re

import pytest
from django.http import QueryDict

from search import query
from search.query import BadParameter, Facets, parse_params

FACETS = Facets(types={"crispr": 3, "chemical": 5}, cell_lines={"A549": (1, 4), "MCF7": (2, 4)}, doses=[], times=[])
OTHER = Facets(types={"chemical": 5}, cell_lines={"MCF7": (2, 5)}, doses=[], times=[])

QUERIES = [
    "",
    "type=crispr&direction=up",
    "direction=up&type=crispr",
    "type=crispr,chemical&cell_line=A549&cell_line=MCF7&dose=0.5&time=24&metric=rank&limit=7&offset=3",
    "type=crispr&_=123",
    "cell_line=&dose=",
]


@pytest.fixture(autouse=True)
def empty_memo():
    query._parsed.clear()
    yield
    query._parsed.clear()


def fresh(data, facets, **options):
    return query._parse(data, facets, options.get("api", False), options.get("max_limit", query.MAX_LIMIT), options.get("default_limit", query.DEFAULT_LIMIT))


@pytest.mark.parametrize("qs", QUERIES)
@pytest.mark.parametrize("api", [False, True])
def test_a_kept_parse_equals_a_fresh_one(qs, api):
    data = QueryDict(qs)
    try:
        expected = fresh(data, FACETS, api=api)
    except BadParameter as exc:
        with pytest.raises(BadParameter, match=re.escape(exc.message)):
            parse_params(data, FACETS, api=api)
        return
    first = parse_params(data, FACETS, api=api)
    again = parse_params(QueryDict(qs), FACETS, api=api)
    assert first == expected and again == expected


def test_parameters_the_search_ignores_share_one_entry():
    parse_params(QueryDict("type=crispr&_=1"), FACETS)
    parse_params(QueryDict("type=crispr&_=2"), FACETS)
    parse_params(QueryDict("type=crispr"), FACETS)
    assert len(query._parsed._values) == 1


def test_the_same_query_is_checked_against_each_releases_facets():
    data = QueryDict("cell_line=A549")
    assert parse_params(data, FACETS).cell_lines == ("A549",)
    with pytest.raises(BadParameter, match="Unknown cell line 'A549' in this release"):
        parse_params(data, OTHER)


def test_the_options_are_part_of_the_key():
    data = QueryDict("type=crispr")
    assert parse_params(data, FACETS).direction is None
    assert parse_params(data, FACETS, api=True).direction == "up"
    assert parse_params(data, FACETS, default_limit=100).limit == 100
    with pytest.raises(BadParameter):
        parse_params(QueryDict("limit=500"), FACETS, max_limit=100)
    assert parse_params(QueryDict("limit=500"), FACETS).limit == 500


def test_a_refused_query_is_refused_every_time_and_not_kept():
    for _ in range(2):
        with pytest.raises(BadParameter, match="Unknown ranking metric 'pvalue'"):
            parse_params(QueryDict("metric=pvalue"), FACETS)
    assert len(query._parsed._values) == 0


def test_an_entry_for_another_facets_object_under_a_reused_id_is_not_used(monkeypatch):
    parse_params(QueryDict("cell_line=A549"), FACETS)
    monkeypatch.setattr(query, "id", lambda obj: id(FACETS) if obj is OTHER else id(obj), raising=False)
    with pytest.raises(BadParameter, match="Unknown cell line 'A549' in this release"):
        parse_params(QueryDict("cell_line=A549"), OTHER)


def test_plain_dicts_with_lists_parse_as_query_dicts_do():
    assert parse_params({"type": ["crispr"], "limit": ["5"]}, FACETS) == parse_params(QueryDict("type=crispr&limit=5"), FACETS)
