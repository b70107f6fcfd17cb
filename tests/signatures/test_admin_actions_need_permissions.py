"""Release actions change what is served or delete files: view-only staff cannot run them."""

from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse

from signatures.models import Release
from tests.signatures.factories import tiny_l1000_dataset

pytestmark = pytest.mark.django_db


def _staff(client, django_user_model, *codenames):
    user = django_user_model.objects.create_user("viewer", "v@example.org", "pw-123456789", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="signatures", codename__in=codenames))
    client.force_login(user)
    return client


def test_view_only_staff_see_no_actions_and_cannot_delete_a_release(client, django_user_model, tiny_world):
    dataset = tiny_l1000_dataset(tiny_world)
    call_command("compute_signatures", dataset.name, "--release", "kept", "--inline", stdout=StringIO(), stderr=StringIO())
    release = Release.objects.get(name="kept")
    viewer = _staff(client, django_user_model, "view_release")
    url = reverse("admin:signatures_release_changelist")

    page = viewer.get(url)
    assert page.status_code == 200
    assert b"delete_with_files" not in page.content and b"activate_release" not in page.content

    response = viewer.post(url, {"action": "delete_with_files", "_selected_action": [release.pk]})
    assert response.status_code in (200, 302)
    assert Release.objects.filter(pk=release.pk).exists()
    assert release.store_dir.exists()


def test_staff_with_delete_permission_may_delete_with_files(client, django_user_model, tiny_world):
    dataset = tiny_l1000_dataset(tiny_world)
    call_command("compute_signatures", dataset.name, "--release", "gone", "--inline", stdout=StringIO(), stderr=StringIO())
    release = Release.objects.get(name="gone")
    directory = release.store_dir
    admin = _staff(client, django_user_model, "view_release", "delete_release")
    admin.post(reverse("admin:signatures_release_changelist"), {"action": "delete_with_files", "_selected_action": [release.pk]})
    assert not Release.objects.filter(pk=release.pk).exists()
    assert not directory.exists()

