"""Activation opens the stores: a release whose files are gone or disagree with its rows is never served."""

import shutil
from io import StringIO

import pytest
from django.core.management import call_command

from signatures.models import Release
from tests.signatures.factories import tiny_l1000_dataset

pytestmark = pytest.mark.django_db


def test_a_release_whose_stores_are_gone_cannot_be_activated(tiny_world):
    dataset = tiny_l1000_dataset(tiny_world)
    call_command("compute_signatures", dataset.name, "--release", "lost", "--inline", stdout=StringIO(), stderr=StringIO())
    release = Release.objects.get(name="lost")
    shutil.rmtree(release.store_dir)
    with pytest.raises(ValueError, match="its signature stores cannot be read"):
        release.activate()
    assert Release.active() is None
