"""The home page suggests genes the active release holds, with strong effects, and their Entrez id."""

import re

import numpy as np
import pytest

from signatures.models import GeneTopEntry

pytestmark = pytest.mark.django_db


def test_the_examples_are_the_genes_with_the_largest_effects_and_each_opens_a_page(client, world):
    html = client.get("/").content.decode()
    shown = re.findall(r'<a href="/genes/([^/"]+)/">', html)
    assert len(shown) == 3
    rows = GeneTopEntry.objects.filter(release=world.release, top_cd=True)
    strongest_up = rows.filter(direction="up").order_by("-cd").first().gene.symbol
    strongest_down = rows.filter(direction="down").order_by("cd").first().gene.symbol
    assert shown[:2] == [strongest_up, strongest_down] or shown[0] == strongest_up == strongest_down
    for symbol in shown:
        assert client.get(f"/genes/{symbol}/").status_code == 200
    entrez = world.genes[shown[0]].entrez_id
    assert f"?q={entrez}" in html and f'placeholder="Gene symbol, alias or Entrez id, e.g. {shown[0]}"' in html
    assert "STAT3)" not in html or "STAT3" in shown  # no fixed example that the release may not hold
    assert np.isfinite(float(rows.filter(direction="up").order_by("-cd").first().cd))


def test_without_a_release_the_home_page_names_no_gene(client, db):
    html = client.get("/").content.decode()
    assert "No release is active yet." in html and "e.g." not in html


def test_while_the_demo_builds_the_home_page_says_which_step_runs(client, db, data_dir):
    from search.demo_status import write_status

    write_status({"step": 4, "of": 6, "doing": "translator training"})
    assert "The demo is being built: step 4 of 6, translator training." in client.get("/").content.decode()
    write_status(None)
    assert "being built" not in client.get("/").content.decode()
