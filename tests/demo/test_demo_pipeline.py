"""The demo pipeline end to end at the tiny size, a search for a planted gene, then a rerun that rebuilds nothing.

One test, so the demo is built once per test run (about 8 s at the tiny size).
"""

import json
import re

import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr
from django.contrib.auth import get_user_model
from django.core.management import call_command

from conversion.models import Dataset, TranslatorModel
from conversion.translator.bundle import load_bundle
from conversion.translator.evaluate import load_paired_for_bundle
from signatures.models import Release

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_demo_builds_every_stage_serves_a_planted_gene_and_a_rerun_rebuilds_nothing(data_dir, client, capsys, settings):
    settings.DEMO_DATA = False
    call_command("demo", size="tiny")
    out = capsys.readouterr().out
    assert "The demo is ready" in out
    table = out[out.index("Demo steps ("):]
    for step in ("synthetic world", "gene registry", "L1000 dataset", "translator training", "translator evaluation", "conversion", "signatures, index, activation", "total"):
        assert re.search(rf"^  {re.escape(step)} +\d+\.\d s$", table, re.M), (step, table)
    assert not (data_dir / "demo" / "demo-status.json").exists()  # the home page no longer says it is building

    release = Release.active()
    assert release is not None and release.name == "demo-tiny-signatures"
    assert release.dataset.kind == "rnaseq_like"
    assert TranslatorModel.active().name == "demo-tiny-translator"
    assert set(Dataset.objects.values_list("name", flat=True)) == {"demo-tiny-l1000", "demo-tiny-rnaseq-like"}
    assert get_user_model().objects.get(username="admin").is_superuser

    # A planted knockout/compound effect on a gene outside the landmarks is found
    # by the search, in the planted direction, for its perturbation type.
    world = json.loads((data_dir / "demo" / "demo-tiny" / "world" / "manifest.json").read_text())
    truth = pd.read_csv(world["truth"], sep="\t")
    effects = truth[~truth["is_landmark"].astype(bool)].sort_values("effect", key=abs, ascending=False)
    found = 0
    for row in effects.head(5).itertuples():
        kind = "crispr" if row.pert_type == "trt_xpr" else "chemical"
        response = client.get(f"/api/genes/{row.symbol}/signatures/", {"type": kind, "direction": row.direction, "limit": 10})
        assert response.status_code == 200, response.content
        names = {r["perturbagen"] for r in response.json()["results"]}
        found += row.pert_iname in names
    assert found >= 3, f"only {found} of the 5 strongest planted non-landmark effects are in their gene's top 10"

    page = client.get(f"/genes/{effects.iloc[0].symbol}/")
    assert page.status_code == 200
    assert b'class="demo-banner"' in page.content  # the release is marked synthetic, whatever the settings

    # The gene's reliability on the page, in the API and in the download is the model's Pearson r on the
    # world's paired set, recomputed here with scipy from the bundle's own predictions.
    symbol = effects.iloc[0].symbol
    bundle = load_bundle(TranslatorModel.active().file)
    _, x, truth = load_paired_for_bundle(bundle, world["gtex_l1000"], world["gtex_rnaseq"])
    j = bundle.output_symbols.index(symbol)
    expected = pearsonr(bundle.predict(x)[:, j], truth[:, j])[0]
    api = client.get(f"/api/genes/{symbol}/signatures/").json()["gene_in_release"]["reliability"]
    assert api["pcc"] == pytest.approx(expected, abs=1e-4) and api["n_samples"] == len(x)
    shown = f"is predicted with r = {expected:.2f} on paired L1000/RNA-seq samples (n = {len(x)}"
    assert shown in page.content.decode()
    assert shown in client.get(f"/genes/{symbol}/download.tsv").content.decode().splitlines()[0]
    assert release.conversion["compute_precision"] == "fp32" and release.conversion["device"] == "cpu"

    # The translator's output ReLU clips some gene to 0 across profiles: where it is constant among a
    # signature's profiles the gene has no CD there, is in none of that signature's lists, and its page says so.
    from signatures.models import GeneTopEntry
    from signatures.store import open_store

    with open_store(release.store_dir) as store:
        counts = {int(g): store.signatures_without_cd(g) for g in store.gene_entrez_ids}
        clipped = max(counts, key=counts.get)
        assert counts[clipped] > 0, "the tiny demo's model no longer clips any gene; plant one to keep this check"
        values = store.read_gene(clipped)
    without = set(np.flatnonzero(np.isnan(values.cd)).tolist())
    assert len(without) == counts[clipped]
    listed = set(GeneTopEntry.objects.filter(release=release, gene_id=clipped).values_list("signature__column", flat=True))
    assert listed and not listed & without
    symbol = bundle.output_symbols[bundle.output_entrez_ids.index(str(clipped))]
    page = client.get(f"/genes/{symbol}/").content.decode()
    assert f"{symbol} has no CD in {counts[clipped]} of {release.n_signatures} signatures" in page


    call_command("demo", size="tiny")
    out = capsys.readouterr().out
    assert out.count("already built, skipped") == 7
    assert re.search(r"^  translator training +\d+\.\d s  \(already built\)$", out, re.M)
    assert Release.objects.count() == 1 and Release.active().pk == release.pk
    assert TranslatorModel.objects.count() == 1
