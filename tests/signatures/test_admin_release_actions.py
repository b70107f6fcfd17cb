"""Staff start a recomputation, activate and delete releases from the admin; each action is logged."""

from io import StringIO

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.urls import reverse

from signatures.models import Release
from tests.signatures.factories import tiny_l1000_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "a@example.org", "pw-123456789")
    client.force_login(user)
    return client


def test_recompute_form_starts_a_release_that_runs_to_completion(staff_client, tiny_world, django_capture_on_commit_callbacks):
    dataset = tiny_l1000_dataset(tiny_world)
    with django_capture_on_commit_callbacks(execute=True):  # tasks run eagerly after commit
        response = staff_client.post(
            reverse("admin:signatures_release_recompute"),
            {"dataset": dataset.pk, "controls": "all", "min_replicates": 2, "gamma": 1.0, "name": "from-admin"},
        )
    assert response.status_code == 302
    release = Release.objects.get(name="from-admin")
    assert release.status == "complete" and release.index_built and release.job.status == "done"
    assert LogEntry.objects.filter(object_id=str(release.pk), change_message__contains="Recomputation started").exists()


def test_activate_action_switches_and_is_logged(staff_client, tiny_world):
    dataset = tiny_l1000_dataset(tiny_world)
    call_command("compute_signatures", dataset.name, "--release", "r", "--inline", stdout=StringIO(), stderr=StringIO())
    release = Release.objects.get(name="r")
    url = reverse("admin:signatures_release_changelist")
    staff_client.post(url, {"action": "activate_release", "_selected_action": [release.pk]})
    release.refresh_from_db()
    assert release.is_active
    assert LogEntry.objects.filter(object_id=str(release.pk), change_message="Activated").exists()
    # The active release cannot be deleted from the admin either.
    staff_client.post(url, {"action": "delete_with_files", "_selected_action": [release.pk]})
    assert Release.objects.filter(pk=release.pk).exists()


def test_non_staff_cannot_reach_the_recompute_form(client, django_user_model):
    user = django_user_model.objects.create_user("u", "u@example.org", "pw-123456789")
    client.force_login(user)
    response = client.get(reverse("admin:signatures_release_recompute"))
    assert response.status_code == 302 and "/login/" in response["Location"]
