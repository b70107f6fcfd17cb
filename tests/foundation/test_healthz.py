import pytest


@pytest.mark.django_db
def test_healthz_reports_ok_with_every_part_up(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["failing"] == []
    assert body["checks"]["database"]["engine"] == "postgresql"
    assert body["checks"]["broker"]["ok"] is True


@pytest.mark.django_db
def test_healthz_is_503_naming_the_broker_when_it_is_unreachable(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["failing"] == ["broker"]
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_healthz_is_503_when_data_dir_is_missing(client, settings, tmp_path):
    settings.DATA_DIR = tmp_path / "does-not-exist"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["data_dir"]
