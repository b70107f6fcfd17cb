import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.urls import reverse

from conversion.models import TrainingJob, TranslatorModel
from conversion.tasks import run_training

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _ids_file(path, ids):
    path.write_text("\n".join(map(str, ids)) + "\n")
    return str(path)


def test_staff_train_a_translator_that_is_registered_evaluated_and_activated(admin_client, tiny_world, tmp_path, django_capture_on_commit_callbacks):
    form = {
        "name": "tiny-admin", "version": "a1", "size": "tiny", "device": "cpu",
        "l1000_path": tiny_world["l1000"], "rnaseq_path": tiny_world["archs4"], "gene_info_path": tiny_world["ncbi_gene_info"],
        "output_genes_path": _ids_file(tmp_path / "genes.txt", tiny_world["output_entrez_ids"]),
        "paired_l1000_path": tiny_world["gtex_l1000"], "paired_rnaseq_path": tiny_world["gtex_rnaseq"],
        "epochs": 2, "max_epochs_step2": 3, "max_l1000": 200000, "max_rnaseq": 50000, "seed": 0, "activate": "on",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:conversion_trainingjob_add"), form)
    assert response.status_code == 302, response.content.decode()[:3000]
    job = TrainingJob.objects.get()
    assert job.status == "done", job.error
    assert (job.chunks_total, job.created_by.username) == (2 + 3, "admin")
    model = TranslatorModel.objects.get()
    assert (job.translator, model.name, model.version, model.is_active) == (model, "tiny-admin", "a1", True)
    assert model.metrics["n_samples"] == 120 and "two-step model" in model.metrics["all_genes"]
    assert "Paired evaluation: sample PCC" in job.log
    assert LogEntry.objects.filter(action_flag=ADDITION, object_id=str(job.pk)).exists()


def test_a_missing_training_file_is_refused_by_the_form(admin_client, tiny_world):
    response = admin_client.post(reverse("admin:conversion_trainingjob_add"), {
        "name": "x", "size": "tiny", "device": "cpu", "l1000_path": "inputs/level3.gctx", "rnaseq_path": tiny_world["archs4"],
        "max_l1000": 1, "max_rnaseq": 1, "seed": 0,
    })
    assert response.status_code == 200 and "No file at inputs/level3.gctx" in response.content.decode()
    assert not TrainingJob.objects.exists()


@pytest.mark.parametrize("outside", ["/etc/passwd", "/nope/level3.gctx", "../../../../etc/passwd"])
def test_files_outside_the_data_directory_and_import_roots_are_refused_alike(admin_client, tiny_world, outside):
    response = admin_client.post(reverse("admin:conversion_trainingjob_add"), {
        "name": "x", "size": "tiny", "device": "cpu", "l1000_path": outside, "rnaseq_path": tiny_world["archs4"],
        "max_l1000": 1, "max_rnaseq": 1, "seed": 0,
    })
    page = response.content.decode()
    # The same sentence whether the file exists or not, and nothing of its content.
    assert response.status_code == 200 and "paths must lie under the data directory or an import root" in page
    assert "root:x:" not in page and "No file at" not in page
    assert not TrainingJob.objects.exists()


@pytest.mark.parametrize("version", ["x/../../../../tmp/evil", "../up", ".hidden", "a b"])
def test_a_version_that_would_leave_the_models_folder_is_refused(admin_client, tiny_world, version, data_dir):
    response = admin_client.post(reverse("admin:conversion_trainingjob_add"), {
        "name": "x", "version": version, "size": "tiny", "device": "cpu", "l1000_path": tiny_world["l1000"],
        "rnaseq_path": tiny_world["archs4"], "max_l1000": 1, "max_rnaseq": 1, "seed": 0,
    })
    assert response.status_code == 200 and "it becomes part of a file name" in response.content.decode()
    assert not TrainingJob.objects.exists()
    # A job row made some other way is refused where the path is built, before anything is written.
    job = TrainingJob.objects.create(name="x", version=version, size="tiny", device="cpu", l1000_path=tiny_world["l1000"], rnaseq_path=tiny_world["archs4"], epochs=1)
    with pytest.raises(ValueError, match="must be 1 to 100 letters"):
        job.bundle_file
    assert run_training.delay(job.pk).get()["status"] == "failed"
    assert not any(p.name.startswith("evil") for p in data_dir.parent.parent.rglob("evil*"))


def test_training_without_gene_info_or_registry_fails_with_the_reason(tiny_world):
    job = TrainingJob.objects.create(name="x", size="tiny", device="cpu", l1000_path=tiny_world["l1000"], rnaseq_path=tiny_world["archs4"], epochs=1)
    assert run_training.delay(job.pk).get()["status"] == "failed"
    job.refresh_from_db()
    assert job.error.startswith("The gene registry is empty: run import_genes first")


def test_a_training_job_refuses_a_manifest_whose_member_lies_outside_the_allowed_folders(tiny_world, data_dir, settings, tmp_path_factory):
    import shutil

    from conversion.formats.multi import manifest_for, manifest_text

    outside = tmp_path_factory.mktemp("outside") / "level3.gctx"
    shutil.copy(tiny_world["l1000"], outside)
    manifest = data_dir / "datasets" / "split.l1kset.json"
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(manifest_text(manifest_for([outside], manifest_path=manifest)))
    settings.IMPORT_ROOTS = []  # the member's folder is no longer an import root; the manifest itself lies under DATA_DIR
    job = TrainingJob.objects.create(name="x", size="tiny", device="cpu", l1000_path=str(manifest), rnaseq_path=str(manifest), epochs=1)
    assert run_training.delay(job.pk).get()["status"] == "failed"
    job.refresh_from_db()
    assert job.error.startswith(f"Dataset manifest {manifest}:") and "paths must lie under the data directory or an import root" in job.error
