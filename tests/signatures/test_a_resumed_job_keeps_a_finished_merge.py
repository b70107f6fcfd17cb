"""A job that failed while it built the index is resumed without merging again."""

import pytest

import signatures.compute as compute
import signatures.index
from signatures.models import JobStage, Release, ReleaseStatus, Signature
from tests.signatures.factories import tiny_l1000_dataset

pytestmark = pytest.mark.django_db

INLINE = {"progress": lambda items, desc: items}


def test_a_job_whose_index_build_failed_keeps_its_stores_and_rows_and_only_builds_the_index(tiny_world, monkeypatch):
    release = compute.start_release(tiny_l1000_dataset(tiny_world), name="indexless", enqueue=False)
    real = signatures.index.build_index

    def out_of_memory(*args, **kwargs):
        raise MemoryError("index build killed")

    monkeypatch.setattr(signatures.index, "build_index", out_of_memory)
    with pytest.raises(MemoryError):
        compute.run_job(release.job.pk, **INLINE)
    release.refresh_from_db()
    job = release.job
    assert job.status == "failed" and job.stage == JobStage.INDEX and "index build killed" in job.error
    assert release.status == ReleaseStatus.COMPLETE and not release.index_built  # merged, not indexed: cannot be activated
    with pytest.raises(ValueError, match="only a complete release with its index can be activated"):
        release.activate()
    rows = sorted(Signature.objects.filter(release=release).values_list("pk", "sig_id", "column"))
    inode = release.store_dir.stat().st_ino

    monkeypatch.setattr(signatures.index, "build_index", real)
    merges = []
    real_merge = compute.merge
    monkeypatch.setattr(compute, "merge", lambda *a, **k: merges.append(1) or real_merge(*a, **k))
    compute.resume_job(job, enqueue=False)
    assert Release.objects.get(pk=release.pk).status == ReleaseStatus.COMPLETE
    compute.run_job(job.pk, **INLINE)

    release.refresh_from_db()
    job.refresh_from_db()
    assert merges == []
    assert job.status == "done" and release.index_built
    assert sorted(Signature.objects.filter(release=release).values_list("pk", "sig_id", "column")) == rows
    assert release.store_dir.stat().st_ino == inode
    assert job.log.count("Merging batch chunks") == 1 and "Stores already merged by an earlier run" in job.log
    release.activate()
