"""A merge writes the stores into a fresh directory and swaps it in whole.

A merge that fails midway leaves the previous store (or none) readable and
unchanged and no temporary directory; a repeated merge gives readers the same
bytes, and a reader that opened the old store keeps reading it.
"""

from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

import signatures.compute as compute
from signatures.models import Release, ReleaseStatus, Signature
from signatures.store import CD_FILE, GENE_MAJOR_FILE, LOGFC_FILE, MANIFEST_FILE, StoreError, StoreWriter, open_store
from tests.signatures.factories import tiny_l1000_dataset

pytestmark = pytest.mark.django_db

STORE_FILES = (CD_FILE, LOGFC_FILE, GENE_MAJOR_FILE, MANIFEST_FILE)
INLINE = {"progress": lambda items, desc: items}


def _leftovers(release) -> list[str]:
    """Temporary and set-aside directories beside the release's store directory."""
    d = release.store_dir
    return sorted(p.name for pattern in (f".{d.name}.tmp-*", f".{d.name}.old-*") for p in d.parent.glob(pattern))


def _fail_on_second_block(monkeypatch, release, seen: list):
    """StoreWriter.write raises on its second block (as a full disk would); `seen` gets the leftovers at that moment."""
    real = StoreWriter.write
    calls = []

    def write(self, start, *args, **kwargs):
        calls.append(start)
        if len(calls) == 2:
            seen.extend(_leftovers(release))
            raise OSError("No space left on device")
        return real(self, start, *args, **kwargs)

    monkeypatch.setattr(compute, "MERGE_BLOCK", 16)  # several blocks from the tiny world's 84 signatures
    monkeypatch.setattr(StoreWriter, "write", write)
    return real


def _read_all(store) -> list[np.ndarray]:
    """Everything a reader can get from a store."""
    return [
        store.gene_entrez_ids, store.symbols, store.sig_ids,
        *store.read_gene_block(0, store.n_genes), *store.read_signature_block(0, store.n_signatures),
    ]  # fmt: skip


def _assert_same(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and np.array_equal(x, y)


def test_a_merge_that_fails_midway_leaves_no_store_and_no_temporary_directory(tiny_world, monkeypatch):
    release = compute.start_release(tiny_l1000_dataset(tiny_world), name="first", enqueue=False)
    seen = []
    real = _fail_on_second_block(monkeypatch, release, seen)
    with pytest.raises(OSError, match="No space left"):
        compute.run_job(release.job.pk, **INLINE)

    assert len(seen) == 1 and seen[0].startswith(".first.tmp-")  # the first block went to a temporary directory
    release.refresh_from_db()
    assert release.status == ReleaseStatus.FAILED and release.job.status == "failed"
    assert not release.store_dir.exists() and _leftovers(release) == []
    with pytest.raises(StoreError, match="not a complete signature store"):
        open_store(release.store_dir)
    with pytest.raises(ValueError, match="cannot be read"):
        release.check_files()
    assert not Signature.objects.filter(release=release).exists()

    monkeypatch.setattr(StoreWriter, "write", real)
    compute.resume_job(release.job, enqueue=False)
    compute.run_job(release.job.pk, **INLINE)
    release.refresh_from_db()
    assert release.status == ReleaseStatus.COMPLETE and release.index_built and _leftovers(release) == []
    release.check_files()


def test_a_repeated_merge_keeps_the_store_when_it_fails_and_gives_the_same_bytes_when_it_succeeds(tiny_world, monkeypatch):
    call_command("compute_signatures", tiny_l1000_dataset(tiny_world).name, "--release", "again", "--inline", stdout=StringIO(), stderr=StringIO())
    release = Release.objects.get(name="again")
    directory = release.store_dir
    files = {name: (directory / name).read_bytes() for name in STORE_FILES}
    inode = directory.stat().st_ino
    reader = open_store(directory)  # a web process holding the store open throughout
    try:
        values = _read_all(reader)

        real = _fail_on_second_block(monkeypatch, release, [])
        with pytest.raises(OSError, match="No space left"):
            compute.merge(release)
        assert directory.stat().st_ino == inode and {name: (directory / name).read_bytes() for name in STORE_FILES} == files
        assert _leftovers(release) == []
        release.check_files()  # the activation check still reads the whole store
        _assert_same(_read_all(reader), values)

        monkeypatch.setattr(StoreWriter, "write", real)
        assert compute.merge(release) == release.n_signatures
        assert directory.stat().st_ino != inode  # a new directory was swapped in ...
        assert {name: (directory / name).read_bytes() for name in STORE_FILES} == files  # ... with the same bytes
        assert _leftovers(release) == []
        _assert_same(_read_all(reader), values)  # the old reader's files were deleted, not changed under it
        with open_store(directory) as fresh:
            _assert_same(_read_all(fresh), values)
        release.check_files()
    finally:
        reader.close()
