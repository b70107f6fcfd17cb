"""Every admin list and add page renders for staff and is closed to everyone else."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

pytestmark = pytest.mark.django_db

MODELS = sorted(
    (model._meta.app_label, model._meta.model_name)
    for model in admin.site._registry
    if model._meta.app_label in {"conversion", "signatures", "search"}
)


def test_the_admin_registers_jobs_datasets_models_and_releases():
    names = {name for _, name in MODELS}
    assert {"dataset", "translatormodel", "conversionjob", "release", "signaturejob"} <= names


@pytest.mark.parametrize("app_label, model_name", MODELS)
def test_admin_changelist_renders_for_staff(client, app_label, model_name):
    user = get_user_model().objects.create_superuser("boss", "boss@example.org", "pw-for-tests-only")
    client.force_login(user)
    response = client.get(reverse(f"admin:{app_label}_{model_name}_changelist"))
    assert response.status_code == 200


@pytest.mark.parametrize("app_label, model_name", MODELS)
def test_admin_is_closed_to_non_staff(client, app_label, model_name):
    user = get_user_model().objects.create_user("reader", "reader@example.org", "pw-for-tests-only")
    client.force_login(user)
    response = client.get(reverse(f"admin:{app_label}_{model_name}_changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
