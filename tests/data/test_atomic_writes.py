"""atomic_path: a target is replaced whole or not at all, and no temporary file outlives the write."""

import os
import threading

import pytest

from conversion.files import atomic_path


@pytest.fixture
def out(tmp_path):
    """An empty directory of the test's own (tmp_path also holds the test DATA_DIR)."""
    directory = tmp_path / "out"
    directory.mkdir()
    return directory


def _names(directory):
    return sorted(p.name for p in directory.iterdir())


def test_success_renames_the_temporary_file_onto_the_target(out):
    target = out / "metrics.json"
    with atomic_path(target) as tmp:
        assert tmp.parent == out and tmp != target
        tmp.write_text("new")
        assert not target.exists()  # nothing under the final name until the block ends
    assert target.read_text() == "new"
    assert _names(out) == ["metrics.json"]


def test_success_replaces_an_existing_target(out):
    target = out / "metrics.json"
    target.write_text("old")
    with atomic_path(target, fsync=True) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert _names(out) == ["metrics.json"]


def test_an_exception_leaves_neither_the_temporary_file_nor_a_partial_target(out):
    target = out / "matrix.bin"
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half of it")
            raise RuntimeError("disk full")
    assert _names(out) == []


def test_an_exception_keeps_the_old_target_intact(out):
    target = out / "matrix.bin"
    target.write_bytes(b"complete old version")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half of")
            raise KeyboardInterrupt
    assert target.read_bytes() == b"complete old version"
    assert _names(out) == ["matrix.bin"]


def test_a_failed_rename_removes_the_temporary_file(out):
    target = out / "store"
    (target / "inside").mkdir(parents=True)  # a non-empty directory cannot be replaced by a file
    with pytest.raises(OSError):
        with atomic_path(target) as tmp:
            tmp.write_text("new")
    assert _names(out) == ["store"]
    assert _names(target) == ["inside"]


def test_a_block_that_writes_nothing_fails_and_leaves_the_old_target(out):
    target = out / "report.html"
    target.write_text("old")
    with pytest.raises(FileNotFoundError, match="expected the temporary file"):
        with atomic_path(target):
            pass
    assert target.read_text() == "old"


def test_writers_with_their_own_life_commit_or_discard_once(out):
    target = out / "gene_major.h5"
    kept = atomic_path(target)
    kept.tmp.write_text("whole")
    kept.commit()
    assert target.read_text() == "whole"
    with pytest.raises(RuntimeError, match="already committed"):
        kept.commit()

    dropped = atomic_path(target)
    dropped.tmp.write_text("half")
    dropped.discard()
    assert target.read_text() == "whole"
    assert _names(out) == ["gene_major.h5"]


def test_temporary_names_are_unique_per_writer_and_carry_the_process_id(out):
    target = out / "chunk_000001.npy"
    names = {atomic_path(target).tmp.name for _ in range(50)}
    assert len(names) == 50
    assert all(name.startswith(f".chunk_000001.npy.{os.getpid()}.") and name.endswith(".tmp") for name in names)


def test_concurrent_writers_use_different_temporary_files_and_the_target_is_one_whole_version(out):
    target = out / "manifest.json"
    n = 8
    all_open = threading.Barrier(n)
    seen: list[str] = []
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            with atomic_path(target) as tmp:
                seen.append(tmp.name)
                with open(tmp, "w") as fh:
                    fh.write(f"writer {i} ")
                    all_open.wait(timeout=10)  # every writer holds its temporary file open at once
                    fh.write("x" * 10_000)
        except BaseException as exc:  # reported to the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert len(set(seen)) == n
    text = target.read_text()
    assert text.startswith("writer ") and text.endswith("x" * 10_000) and len(text.split(" ")) == 3
    assert _names(out) == ["manifest.json"]
