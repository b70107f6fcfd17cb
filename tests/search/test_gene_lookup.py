"""Gene lookup: symbols, aliases, previous symbols, Entrez and Ensembl ids, suggestions, autocomplete."""

import pytest

from search.lookup import autocomplete, resolve, resolve_many
from tests.search.factories import make_genes

pytestmark = pytest.mark.django_db


@pytest.fixture
def genes(db):
    return make_genes()


def test_symbol_matches_in_any_case(genes):
    r = resolve("stat3")
    assert r.gene == genes["STAT3"] and r.match.via == "symbol"


def test_entrez_and_ensembl_ids_find_the_gene(genes):
    assert resolve("6774").gene == genes["STAT3"]
    assert resolve("ENSG00000006774").gene == genes["STAT3"]
    assert resolve("ensg00000006774.12").gene == genes["STAT3"]


def test_alias_finds_its_gene_and_says_which_alias_matched(genes):
    r = resolve("sarp1")
    assert r.gene == genes["SFRP2"]
    assert (r.match.via, r.match.alias) == ("synonym", "SARP1")


def test_previous_symbol_finds_its_gene(genes):
    r = resolve("CIP1")
    assert r.gene == genes["CDKN1A"] and r.match.via == "previous"


def test_alias_shared_by_two_genes_is_ambiguous_and_names_both(genes):
    r = resolve("ISGF-3")
    assert r.gene is None and r.ambiguous
    assert {m.gene.symbol for m in r.matches} == {"STAT1", "STAT4"}
    assert "STAT1" in r.message() and "STAT4" in r.message()


def test_unknown_gene_suggests_close_symbols(genes):
    r = resolve("SFRP22")
    assert r.gene is None and not r.ambiguous
    assert r.suggestions[0] == genes["SFRP2"]
    assert r.message() == "Unknown gene 'SFRP22'. Did you mean SFRP2?"


def test_a_pasted_list_resolves_entry_by_entry_in_a_few_queries(genes, django_assert_max_num_queries):
    entries = ["stat3", "6774", "sarp1", "CIP1", "ISGF-3", "SFRP22", "", "ENSG00000006774", "99999999", "Stat3", "x" * 80]
    with django_assert_max_num_queries(4):  # Entrez ids, symbols, aliases, and the one Ensembl id
        out = resolve_many(entries)
    assert [r.query for r in out] == [e if len(e) <= 64 else e[:65] for e in entries]
    assert [r.gene.symbol if r.gene else None for r in out] == ["STAT3", "STAT3", "SFRP2", "CDKN1A", None, None, None, "STAT3", None, "STAT3", None]
    assert [m.via for m in out[2].matches + out[3].matches] == ["synonym", "previous"]
    assert out[4].ambiguous and {m.gene.symbol for m in out[4].matches} == {"STAT1", "STAT4"}
    assert out[5].suggestions == []  # suggestions only when asked: they cost a query per entry
    assert resolve_many(["SFRP22"], suggest=True)[0].suggestions[0] == genes["SFRP2"]


def test_injection_looking_query_is_just_an_unknown_gene(genes):
    r = resolve("STAT3'; DROP TABLE search_gene; --")
    assert r.gene is None
    assert resolve("STAT3").gene == genes["STAT3"]


def test_autocomplete_puts_the_exact_symbol_first_then_prefixes_then_aliases(genes):
    symbols = [g["symbol"] for g in autocomplete("stat")]
    assert symbols[:1] == ["STAT1"] and set(symbols) == {"STAT1", "STAT3", "STAT4"}
    assert [g["symbol"] for g in autocomplete("STAT3")][0] == "STAT3"
    via_alias = autocomplete("SARP")
    assert via_alias == [{"entrez_id": 6423, "symbol": "SFRP2", "name": "SFRP2 protein", "status": "inferred", "matched": "synonym", "alias": "SARP1"}]


def test_autocomplete_of_an_entrez_id_returns_that_gene(genes):
    assert [g["symbol"] for g in autocomplete("7157")] == ["TP53"]
