import pytest
from django.urls import reverse

from conversion.models import ConversionJob, TrainingJob

from .helpers import registered_pair

pytestmark = pytest.mark.django_db


def test_every_conversion_admin_page_renders_for_staff(admin_client, data_dir):
    translator, dataset, _, _ = registered_pair(data_dir)
    job = ConversionJob.objects.create(dataset=dataset, translator=translator)
    training = TrainingJob.objects.create(name="t", l1000_path="a.gctx", rnaseq_path="b.h5")
    pages = [
        reverse("admin:conversion_dataset_changelist"), reverse("admin:conversion_dataset_add"),
        reverse("admin:conversion_dataset_change", args=[dataset.pk]),
        reverse("admin:conversion_translatormodel_changelist"), reverse("admin:conversion_translatormodel_add"),
        reverse("admin:conversion_translatormodel_change", args=[translator.pk]),
        reverse("admin:conversion_conversionjob_changelist"), reverse("admin:conversion_conversionjob_add"),
        reverse("admin:conversion_conversionjob_change", args=[job.pk]),
        reverse("admin:conversion_trainingjob_changelist"), reverse("admin:conversion_trainingjob_add"),
        reverse("admin:conversion_trainingjob_change", args=[training.pk]),
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url


def test_the_conversion_form_offers_l1000_datasets_and_preselects_the_active_translator(admin_client, data_dir):
    translator, dataset, _, _ = registered_pair(data_dir)
    page = admin_client.get(reverse("admin:conversion_conversionjob_add")).content.decode()
    assert f'<option value="{dataset.pk}">{dataset.name}</option>' in page
    assert f'<option value="{translator.pk}" selected>' in page
