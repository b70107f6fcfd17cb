import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from conversion.models import ConversionJob, Dataset, TranslatorModel

from .helpers import registered_pair, toy_bundle, toy_l1000_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(admin_client):
    return admin_client


def test_non_staff_users_cannot_reach_the_conversion_admin(client, django_user_model):
    user = django_user_model.objects.create_user("reader", password="pw")
    client.force_login(user)
    response = client.get(reverse("admin:conversion_conversionjob_changelist"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_staff_register_a_dataset_by_server_path(staff, data_dir, tmp_path):
    path, _ = toy_l1000_file(data_dir / "plate.gctx", toy_bundle(), n_samples=12)
    response = staff.post(reverse("admin:conversion_dataset_add"), {"name": "plate", "kind": "l1000", "path": "plate.gctx", "description": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    dataset = Dataset.objects.get(name="plate")
    assert (dataset.n_profiles, dataset.path) == (12, "plate.gctx") and dataset.metadata_file.exists()
    entry = LogEntry.objects.get()
    assert (entry.action_flag, entry.object_id, entry.user.username) == (ADDITION, str(dataset.pk), "admin")


def test_a_bad_upload_is_refused_with_the_reason_and_nothing_registered(staff):
    upload = SimpleUploadedFile("junk.gctx", b"not a matrix")
    response = staff.post(reverse("admin:conversion_dataset_add"), {"name": "junk", "kind": "l1000", "upload": upload})
    assert response.status_code == 200
    assert "not a readable HDF5 file" in response.content.decode()
    assert not Dataset.objects.exists() and not LogEntry.objects.exists()


def test_staff_import_a_bundle_upload_and_make_it_active(staff, tmp_path):
    path = toy_bundle().save(tmp_path / "toy.pt")
    with open(path, "rb") as fh:
        response = staff.post(reverse("admin:conversion_translatormodel_add"),
                              {"name": "toy", "upload": SimpleUploadedFile("toy.pt", fh.read()), "activate": "on", "description": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    model = TranslatorModel.objects.get()
    assert (model.name, model.version, model.is_active, model.size) == ("toy", "test-1", True, "tiny")
    assert model.file.is_file()


def test_make_active_switches_the_active_translator_and_is_logged(staff, data_dir):
    first = toy_bundle().save(data_dir / "a.pt")
    TranslatorModel.register_bundle(first, name="a", activate=True)
    other = TranslatorModel.objects.create(name="b", version="2", path="a.pt")
    staff.post(reverse("admin:conversion_translatormodel_changelist"), {"action": "make_active", "_selected_action": [other.pk]})
    assert list(TranslatorModel.objects.filter(is_active=True)) == [other]
    assert LogEntry.objects.get().change_message == "Made active"


def test_staff_start_a_conversion_and_see_its_progress(staff, data_dir, django_capture_on_commit_callbacks):
    translator, dataset, _, _ = registered_pair(data_dir, n_samples=20)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(reverse("admin:conversion_conversionjob_add"), {
            "dataset": dataset.pk, "translator": translator.pk, "output_name": "", "chunk_size": 8, "device": "cpu",
        })
    assert response.status_code == 302, response.content.decode()[:2000]
    job = ConversionJob.objects.get()
    assert (job.status, job.chunks_done, job.chunks_total, job.created_by.username) == ("done", 3, 3, "admin")
    page = staff.get(reverse("admin:conversion_conversionjob_changelist")).content.decode()
    assert '<progress value="100" max="100">' in page and "3/3" in page
    assert LogEntry.objects.filter(action_flag=ADDITION, object_id=str(job.pk)).exists()


def test_cancel_and_resume_actions_change_the_job_and_are_logged(staff, data_dir, django_capture_on_commit_callbacks):
    translator, dataset, _, _ = registered_pair(data_dir, n_samples=10)
    job = ConversionJob.objects.create(dataset=dataset, translator=translator, chunk_size=4, device="cpu")
    url = reverse("admin:conversion_conversionjob_changelist")
    staff.post(url, {"action": "cancel", "_selected_action": [job.pk]})
    job.refresh_from_db()
    assert job.status == "cancelled"
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(url, {"action": "resume", "_selected_action": [job.pk]})
    job.refresh_from_db()
    assert job.status == "done" and job.output.n_profiles == 10
    assert [e.change_message for e in LogEntry.objects.filter(action_flag=CHANGE).order_by("action_time")] == ["Cancellation requested", "Resumed"]


def test_a_second_conversion_into_the_same_output_is_refused_while_the_first_is_live(staff, data_dir):
    from l1kweb.jobs import JobStateError

    translator, dataset, _, _ = registered_pair(data_dir, n_samples=10)
    first = ConversionJob.objects.create(dataset=dataset, translator=translator, chunk_size=4, device="cpu")  # queued
    response = staff.post(reverse("admin:conversion_conversionjob_add"), {
        "dataset": dataset.pk, "translator": translator.pk, "output_name": "", "chunk_size": 8, "device": "cpu",
    })
    assert response.status_code == 200
    assert f"{first} is queued and writes converted/{first.output_name}.gctx" in response.content.decode()
    with pytest.raises(JobStateError, match="wait for it or cancel it before starting another conversion into the same file"):
        ConversionJob.start(dataset, translator, chunk_size=8, device="cpu")
    assert ConversionJob.objects.count() == 1
    # Another output name is another file: allowed. Once the first is cancelled, its output is free again.
    ConversionJob.objects.create(dataset=dataset, translator=translator, output_name="other", chunk_size=4, device="cpu")
    first.request_cancel()
    ConversionJob.objects.create(dataset=dataset, translator=translator, chunk_size=4, device="cpu")
    assert ConversionJob.objects.count() == 3
