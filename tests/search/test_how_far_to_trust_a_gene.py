"""Next to every gene's hits: its reliability on the model's paired evaluation, and the signatures that have no CD for it."""

import csv
import html
import io

import pytest

from signatures.models import GeneReliability, Release
from tests.search.factories import PAIRED_SET, RELIABILITY, make_release

pytestmark = pytest.mark.django_db


def test_page_api_and_download_state_the_genes_reliability(client, world):
    page = client.get("/genes/TP53/").content.decode()
    assert "TP53 is predicted with r = 0.71 on paired L1000/RNA-seq samples (n = 40; gtex_l1000.gctx + gtex_rnaseq.gctx (log2))." in page
    assert "Weakly predicted" not in page
    body = client.get("/api/genes/TP53/signatures/").json()
    reliability = body["gene_in_release"]["reliability"]
    assert reliability["pcc"] == pytest.approx(RELIABILITY["TP53"]) and reliability["n_samples"] == PAIRED_SET["n_samples"]
    assert reliability["threshold"] == pytest.approx(0.3) and reliability["warning"] is False
    for endpoint in ("perturbagens", "mechanisms"):
        assert client.get(f"/api/genes/TP53/{endpoint}/").json()["gene_in_release"]["reliability"]["pcc"] == pytest.approx(0.71)
    header = client.get("/genes/TP53/perturbagens.tsv").content.decode().splitlines()[0]
    assert "is predicted with r = 0.71 on paired L1000/RNA-seq samples (n = 40" in header


def test_a_weakly_predicted_gene_carries_a_warning_with_its_threshold(client, world, settings):
    page = client.get("/genes/MYC/").content.decode()
    assert 'class="reliability reliability-warning" id="gene-reliability" role="alert"' in page
    assert "<strong>Weakly predicted:</strong> MYC is predicted with r = 0.12" in page and "below 0.30, the level under which this site warns" in page
    assert client.get("/api/genes/MYC/signatures/").json()["gene_in_release"]["reliability"]["warning"] is True
    settings.RELIABILITY_WARNING_BELOW = 0.1
    from django.core.cache import cache

    cache.clear()
    assert "Weakly predicted" not in client.get("/genes/MYC/").content.decode()


def test_a_release_whose_model_was_never_evaluated_says_so(client, world):
    Release.objects.filter(pk=world.release.pk).update(reliability={})
    GeneReliability.objects.filter(release=world.release).delete()
    body = client.get("/api/genes/TP53/signatures/").json()["gene_in_release"]["reliability"]
    assert body["pcc"] is None and body["warning"] is False
    assert body["note"] == "has no measured reliability: no paired evaluation of this release's model was recorded"
    assert "TP53 has no measured reliability: no paired evaluation of this release's model was recorded." in html.unescape(client.get("/genes/TP53/").content.decode())


@pytest.fixture
def constant_world(db, data_dir):
    return make_release(data_dir, constant_gene="IL6")


def test_a_gene_predicted_as_constant_is_never_listed_and_its_page_says_why(client, constant_world):
    n_without = (constant_world.cd[:, constant_world.column_of("IL6")] != constant_world.cd[:, constant_world.column_of("IL6")]).sum()
    assert n_without == 30
    page = html.unescape(client.get("/genes/IL6/").content.decode())
    assert (
        "IL6 has no CD in 30 of 60 signatures: the model predicts the gene as constant among those signatures' profiles, "
        "so they have no direction for it and never list it." in page
    )
    constant_columns = set(range(0, 60, 2))
    listed = set()
    for query in ({}, {"cell_line": "A549"}, {"limit": 50}, {"metric": "logfc"}, {"metric": "rank", "limit": 50}):
        for kind in ("crispr", "chemical"):
            for direction in ("up", "down"):
                body = client.get("/api/genes/IL6/signatures/", {**query, "type": kind, "direction": direction}).json()
                assert body["gene_in_release"]["signatures_without_cd"] == 30
                listed |= {int(r["sig_id"].rsplit(":", 1)[1]) for r in body["results"]}
    assert listed and not listed & constant_columns
    rows = list(csv.DictReader(io.StringIO("\n".join(client.get("/genes/IL6/download.csv", {"limit": 100}).content.decode().splitlines()[1:]))))
    assert rows and not {int(r["sig_id"].rsplit(":", 1)[1]) for r in rows} & constant_columns
    assert "no CD in" not in client.get("/genes/TP53/").content.decode()
