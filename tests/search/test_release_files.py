"""A release's files: listed with sizes and SHA-256, served from disk, resumable with HTTP Range."""

import csv
import hashlib
import io

import pytest

from signatures.release_files import release_files, write_release_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(world, data_dir):
    profiles = data_dir / world.release.dataset.path
    profiles.write_bytes(bytes(range(256)) * 40)  # the dataset's matrix file, as the release's profiles
    write_release_files(world.release)
    return world


def _body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_page_lists_every_file_with_its_size_and_checksum(client, published):
    files = release_files(published.release)
    assert [f.name for f in files] == ["README.txt", "signatures.tsv", "cd.gctx", "logfc.gctx", "gene_major.h5", "profiles-r1.gctx"]
    page = client.get("/releases/r1/").content.decode()
    for f in files:
        assert hashlib.sha256(f.path.read_bytes()).hexdigest() == f.sha256 and f.sha256 in page and str(f.size) in page
    assert 'href="/releases/r1/"' in client.get("/genes/TP53/").content.decode()


def test_a_file_downloads_whole_and_equals_the_disk(client, published):
    for f in release_files(published.release):
        response = client.get(f"/releases/r1/files/{f.name}")
        assert response.status_code == 200 and response["Accept-Ranges"] == "bytes"
        assert _body(response) == f.path.read_bytes()
    table = _body(client.get("/releases/r1/files/signatures.tsv")).decode()
    rows = list(csv.DictReader(io.StringIO(table), delimiter="\t"))
    assert [r["sig_id"] for r in rows] == [s.sig_id for s in published.signatures] and rows[0]["cell_line"] == published.signatures[0].cell_line.name
    readme = _body(client.get("/releases/r1/files/README.txt")).decode()
    assert "Model: two-step 1.0 (tiny); profiles converted in fp32 on cpu, stored as float32." in readme
    assert "40 paired L1000/RNA-seq samples" in readme


@pytest.mark.parametrize("header, first, last", [("bytes=10-19", 10, 19), ("bytes=10000-", 10000, 10239), ("bytes=-5", 10235, 10239), ("bytes=0-99999", 0, 10239)])
def test_a_range_resumes_a_download(client, published, header, first, last):
    data = (bytes(range(256)) * 40)
    response = client.get("/releases/r1/files/profiles-r1.gctx", HTTP_RANGE=header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {first}-{last}/{len(data)}" and int(response["Content-Length"]) == last - first + 1
    assert _body(response) == data[first : last + 1]


@pytest.mark.parametrize("header", ["bytes=20000-", "bytes=5-2", "bytes=-0", "items=0-1", "bytes=0-1,5-6"])
def test_a_range_outside_the_file_or_not_understood_is_416(client, published, header):
    response = client.get("/releases/r1/files/profiles-r1.gctx", HTTP_RANGE=header)
    assert response.status_code == 416 and response["Content-Range"] == "bytes */10240"


def test_only_listed_unchanged_files_of_complete_releases_are_served(client, published, data_dir):
    assert client.get("/releases/r1/files/store.json").status_code == 404
    assert client.get("/releases/r1/files/..%2Fstore.json").status_code == 404
    assert client.get("/releases/nope/").status_code == 404
    (data_dir / published.release.dataset.path).write_bytes(b"replaced")
    response = client.get("/releases/r1/files/profiles-r1.gctx")
    assert response.status_code == 409 and b"changed since its checksum was published" in response.content
    assert "Changed since their checksums were published" in client.get("/releases/r1/").content.decode()


def test_a_release_not_yet_hashed_says_how_to_list_it(client, world):
    assert "manage.py release_files r1" in client.get("/releases/r1/").content.decode()
