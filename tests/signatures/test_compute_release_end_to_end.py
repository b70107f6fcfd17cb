"""compute_signatures -> stores, Signature rows, the per-gene index; activate_release serves it."""

from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from conversion.formats import open_matrix
from signatures.batches import AUTO_MIN_VEHICLES, compute_batch, plan_batches
from signatures.models import GeneTopEntry, Release, ReleaseStatus, Signature, SignatureBatch
from signatures.store import open_store
from tests.signatures.factories import tiny_l1000_dataset

pytestmark = pytest.mark.django_db


def _compute(*args):
    out, err = StringIO(), StringIO()
    call_command("compute_signatures", *args, "--inline", stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_compute_signatures_prints_the_release_and_writes_everything(tiny_world):
    dataset = tiny_l1000_dataset(tiny_world)
    name, summary = _compute(dataset.name, "--release", "r1")
    assert name == "r1"
    release = Release.objects.get(name="r1")
    assert release.status == ReleaseStatus.COMPLETE and release.index_built and not release.is_active
    assert release.job.status == "done" and release.job.progress == 1.0
    meta = pd_meta(dataset)
    plan = plan_batches(meta, min_replicates=2)
    assert release.n_signatures == plan.n_signatures == Signature.objects.filter(release=release).count()
    assert SignatureBatch.objects.filter(job=release.job, status="done").count() == len(plan.batches)
    assert f"{plan.n_signatures} signatures" in summary

    # Columns are grouped by type, and each Signature row's column holds its own values.
    sigs = list(Signature.objects.filter(release=release).order_by("column"))
    types = [s.pert_type for s in sigs]
    assert types == sorted(types, key=["crispr", "chemical"].index)
    batch = plan.batches[0]
    with open_matrix(dataset.file) as reader:
        cd, logfc = compute_batch(reader.read(cols=batch.positions), batch)
    with open_store(release.store_dir) as store:
        for i, group in enumerate(batch.groups):
            s = Signature.objects.get(release=release, sig_id=group.sig_id)
            got_cd, got_fc = store.read_signature(s.column)
            np.testing.assert_allclose(got_cd, cd[i], atol=1e-6)
            np.testing.assert_allclose(got_fc, logfc[i], atol=1e-5)
            pert_ids = meta["pert_id"].astype(str).to_numpy()[batch.positions]
            vehicles = meta["pert_type"].astype(str).str.startswith(("ctl_vehicle", "ctl_vector")).to_numpy()[batch.positions]
            # The default ("auto") takes vehicle controls where the batch has enough of them, and says so per signature.
            expected = int(vehicles.sum()) if vehicles.sum() >= AUTO_MIN_VEHICLES else int((pert_ids != group.pert_id).sum())
            assert s.controls == ("vehicle" if vehicles.sum() >= AUTO_MIN_VEHICLES else "all")
            assert s.n_replicates == 3 and s.n_controls == expected


def test_index_rows_agree_with_the_gene_major_store(tiny_world):
    dataset = tiny_l1000_dataset(tiny_world)
    _compute(dataset.name, "--release", "r2")
    release = Release.objects.get(name="r2")
    assert release.params["top_n"] == 100
    entries = GeneTopEntry.objects.filter(release=release).select_related("signature")
    assert entries.exists()
    with open_store(release.store_dir) as store:
        gene = entries.first().gene_id
        values = store.read_gene(gene)
        for e in entries.filter(gene_id=gene):
            assert e.signature.pert_type == e.pert_type
            assert e.cd == pytest.approx(float(values.cd[e.signature.column]), abs=1e-6)
            assert e.logfc == pytest.approx(float(values.logfc[e.signature.column]), abs=1e-6)
            expected_rank = values.rank_up[e.signature.column] if e.direction == "up" else store.n_genes + 1 - values.rank_up[e.signature.column]
            assert e.rank == expected_rank
            if e.top_cd:
                assert (e.cd > 0) == (e.direction == "up")
    # Fewer than 100 signatures per type here: every signature with a positive CD for the gene is in its up list.
    n_chem_up = sum(1 for s in Signature.objects.filter(release=release, pert_type="chemical") if values.cd[s.column] > 0)
    assert entries.filter(gene_id=gene, pert_type="chemical", direction="up", top_cd=True).count() == n_chem_up


def test_activation_switches_the_served_release_atomically(tiny_world):
    dataset = tiny_l1000_dataset(tiny_world)
    _compute(dataset.name, "--release", "old")
    _compute(dataset.name, "--release", "new", "--controls", "vehicle")
    out = StringIO()
    call_command("activate_release", "old", stdout=out)
    call_command("activate_release", "new", stdout=out)
    assert "Active release: new (was old)." in out.getvalue()
    assert list(Release.objects.filter(is_active=True).values_list("name", flat=True)) == ["new"]


def test_unknown_dataset_is_named_with_the_known_ones(tiny_world):
    tiny_l1000_dataset(tiny_world)
    with pytest.raises(CommandError, match="Unknown dataset 'nope'; registered datasets: tiny-l1000."):
        _compute("nope")
    assert not Release.objects.exists()


def pd_meta(dataset):
    from conversion.datasets import load_metadata

    return load_metadata(dataset)
