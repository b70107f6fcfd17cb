import pytest


@pytest.mark.django_db
def test_healthz_reports_ok_with_every_part_up(admin_client, settings):
    settings.CELERY_BROKER_URL = settings.REDIS_URL
    response = admin_client.get("/healthz")
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
def test_healthz_is_503_when_data_dir_is_missing(admin_client, settings, tmp_path):
    settings.DATA_DIR = tmp_path / "does-not-exist"
    response = admin_client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["data_dir"]
    assert "does-not-exist" in response.json()["checks"]["data_dir"]["error"]


@pytest.mark.django_db
def test_healthz_shows_anonymous_callers_no_paths_or_exception_text(client, settings, tmp_path):
    settings.DATA_DIR = tmp_path / "secret-location"
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker", "data_dir"]
    assert body["checks"] == {"database": {"ok": True}, "broker": {"ok": False}, "data_dir": {"ok": False}}
    assert "secret-location" not in response.content.decode()
    assert "Error" not in response.content.decode()
