"""A release whose store is gone answers 503 with a sentence, never the server's paths."""

import pytest

from signatures.models import Release
from signatures.store import MANIFEST_FILE

pytestmark = pytest.mark.django_db


def test_page_download_and_api_answer_503_without_a_path(client, world, data_dir, caplog):
    release = Release.active()
    (release.store_dir / MANIFEST_FILE).unlink()
    # Filtered by cell line, so the answer needs the store, not only the index.
    for url, params in (("/genes/STAT3/", {"cell_line": "A549"}), ("/genes/STAT3/download.tsv", {"cell_line": "A549"}),
                        ("/api/genes/STAT3/signatures/", {"cell_line": "A549", "direction": "up"})):
        response = client.get(url, params)
        body = response.content.decode()
        assert response.status_code == 503, (url, body[:500])
        assert f"the signature store of release {release.name} is unavailable" in body
        assert str(data_dir) not in body and MANIFEST_FILE not in body
    # The administrators get the path in the log.
    assert str(release.store_dir) in caplog.text
