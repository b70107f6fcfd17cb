"""Requests share the process's copy of the active release until its rows change: activation, a rebuild or an edit is seen at once."""

import pytest
from django.utils import timezone

from search.response_cache import active_release_memo
from signatures.models import Release
from tests.search.factories import make_release

pytestmark = pytest.mark.django_db


def test_the_same_rows_give_the_same_instance_and_any_change_a_fresh_one(data_dir, django_assert_num_queries):
    active_release_memo.clear()
    world = make_release(data_dir, name="r1")
    first, other = world.release, make_release(data_dir, name="r2", active=False, genes=world.genes).release
    loaded = active_release_memo.get()
    assert loaded.pk == first.pk
    with django_assert_num_queries(1):  # the rows only
        assert active_release_memo.get() is loaded

    Release.objects.filter(pk=first.pk).update(params={**first.params, "note": "edited"})
    assert active_release_memo.get().params["note"] == "edited"
    first.dataset.__class__.objects.filter(pk=first.dataset_id).update(n_profiles=first.dataset.n_profiles + 1)
    assert active_release_memo.get().dataset.n_profiles == first.dataset.n_profiles + 1
    Release.objects.filter(pk=first.pk).update(completed_at=timezone.now())  # rebuilt under the same id
    rebuilt = active_release_memo.get()
    assert rebuilt.cache_stamp != loaded.cache_stamp

    Release.objects.filter(pk=first.pk).update(is_active=False)
    assert active_release_memo.get() is None
    Release.objects.filter(pk=other.pk).update(is_active=True)
    assert active_release_memo.get().pk == other.pk


def test_a_page_shows_the_release_activated_after_the_previous_request(client, data_dir):
    world = make_release(data_dir, name="r1")
    first, other = world.release, make_release(data_dir, name="r2", active=False, genes=world.genes).release
    assert first.name in client.get("/api/cell-lines/").json()["release"]
    Release.objects.filter(pk=first.pk).update(is_active=False)
    Release.objects.filter(pk=other.pk).update(is_active=True, activated_at=timezone.now())
    assert client.get("/api/cell-lines/").json()["release"] == other.name
