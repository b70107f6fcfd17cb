"""A dataset that a release (or a conversion) was built from keeps meaning the same data; uploads never overwrite.

Before these rules, registering a new file under a used dataset's name, or
reconverting into its output name, silently changed what the release's
dataset row points at, and an upload with the name of a file in use replaced
that file.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from conversion.admin import store_upload
from conversion.datasets import register_dataset
from conversion.models import ConversionJob, Dataset, DatasetInUse
from conversion.tasks import run_conversion
from signatures.models import Release

from .helpers import registered_pair, toy_l1000_file

pytestmark = pytest.mark.django_db


def _release_from(dataset, name="r1"):
    return Release.objects.create(name=name, dataset=dataset, directory=f"releases/{name}")


def test_a_used_dataset_cannot_be_registered_again_with_other_data(data_dir):
    translator, dataset, bundle, _ = registered_pair(data_dir, n_samples=12)
    _release_from(dataset)
    before = (dataset.path, dataset.metadata_file.read_bytes())
    other, _ = toy_l1000_file(data_dir / "l1000" / "other.gctx", bundle, n_samples=9, seed=3)
    with pytest.raises(DatasetInUse, match=r"Dataset toy-l1000 cannot be pointed at other data: release r1 was built from it\. Register the new file under another name\."):
        register_dataset("toy-l1000", other, kind="l1000", metadata=None)
    dataset.refresh_from_db()
    assert (dataset.path, dataset.metadata_file.read_bytes()) == before
    assert not list(dataset.metadata_file.parent.glob(".*.tmp"))
    # The same file and metadata again is no change, and allowed.
    assert register_dataset("toy-l1000", dataset.file, kind="l1000", metadata=None).pk == dataset.pk
    # Unused datasets may still be re-pointed (a mistaken import is fixed by importing again).
    assert register_dataset("unused", other, kind="l1000", metadata=None).n_profiles == 9
    assert register_dataset("unused", dataset.file, kind="l1000", metadata=None).n_profiles == 12


def test_a_conversion_into_the_output_of_a_release_is_refused_at_start_and_at_run(data_dir, django_capture_on_commit_callbacks):
    translator, dataset, _, _ = registered_pair(data_dir, n_samples=10)
    with django_capture_on_commit_callbacks(execute=True):
        first = ConversionJob.start(dataset, translator, chunk_size=4, device="cpu")
    first.refresh_from_db()
    output = first.output
    _release_from(output)
    stamp = output.file.stat().st_mtime_ns
    with pytest.raises(DatasetInUse, match=rf"Converting into converted/{output.name}\.gctx would replace dataset {output.name}'s data\."):
        ConversionJob.start(dataset, translator, chunk_size=4, device="cpu")
    with pytest.raises(DatasetInUse):
        ConversionJob.start(dataset, translator, output_name="elsewhere", output_path=output.path, chunk_size=4, device="cpu")

    # A job queued before the release existed fails when it runs, leaving the file alone.
    queued = ConversionJob.objects.create(dataset=dataset, translator=translator, output_name="later", chunk_size=4, device="cpu")
    _release_from(dataset.__class__.objects.create(name="later", kind="rnaseq_like", path=str(output.file)), name="r2")
    run_conversion.delay(queued.pk)
    queued.refresh_from_db()
    assert queued.status == "failed" and "would replace dataset" in queued.error
    assert output.file.stat().st_mtime_ns == stamp


def test_the_admin_refuses_such_a_conversion_and_such_a_registration_with_the_reason(admin_client, data_dir, django_capture_on_commit_callbacks):
    translator, dataset, bundle, _ = registered_pair(data_dir, n_samples=10)
    _release_from(dataset)
    other, _ = toy_l1000_file(data_dir / "upload-source.gctx", bundle, n_samples=7, seed=5)
    response = admin_client.post(reverse("admin:conversion_dataset_add"), {
        "name": "toy-l1000", "kind": "l1000", "upload": SimpleUploadedFile("toy-l1000.gctx", other.read_bytes()), "description": "",
    })
    assert response.status_code == 200
    assert "cannot be pointed at other data: release r1 was built from it" in response.content.decode()
    assert not (data_dir / "uploads" / "datasets").exists() or not any((data_dir / "uploads" / "datasets").iterdir())
    assert Dataset.objects.get(name="toy-l1000").n_profiles == 10


def test_an_upload_never_replaces_a_file_of_the_same_name(data_dir):
    first = store_upload(SimpleUploadedFile("plate.gctx", b"first"), "datasets")
    second = store_upload(SimpleUploadedFile("plate.gctx", b"second"), "datasets")
    third = store_upload(SimpleUploadedFile("plate.gctx", b"third"), "datasets")
    assert [p.name for p in (first, second, third)] == ["plate.gctx", "plate-2.gctx", "plate-3.gctx"]
    assert [p.read_bytes() for p in (first, second, third)] == [b"first", b"second", b"third"]
    assert sorted(p.name for p in first.parent.iterdir()) == ["plate-2.gctx", "plate-3.gctx", "plate.gctx"]  # no temporary files left
