import pytest

from l1kweb.env import EnvError, env_bool, env_int, env_list, env_path, env_url


def test_bool_rejects_a_word_it_does_not_know(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(EnvError, match=r"DEBUG must be one of .* but is 'maybe'"):
        env_bool("DEBUG")


@pytest.mark.parametrize("raw, expected", [("1", True), ("TRUE", True), ("off", False), ("0", False)])
def test_bool_reads_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("DEBUG", raw)
    assert env_bool("DEBUG") is expected


def test_int_rejects_text_naming_the_variable(monkeypatch):
    monkeypatch.setenv("DB_CONN_MAX_AGE", "sixty")
    with pytest.raises(EnvError, match="DB_CONN_MAX_AGE must be an integer"):
        env_int("DB_CONN_MAX_AGE", 60)


def test_int_enforces_minimum(monkeypatch):
    monkeypatch.setenv("CELERY_TASK_TIME_LIMIT", "-5")
    with pytest.raises(EnvError, match="CELERY_TASK_TIME_LIMIT must be at least 1, but is -5"):
        env_int("CELERY_TASK_TIME_LIMIT", 10, minimum=1)


def test_url_rejects_wrong_scheme(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://localhost/db")
    with pytest.raises(EnvError, match="DATABASE_URL must be a URL of the form postgres://"):
        env_url("DATABASE_URL", schemes=("postgres", "sqlite"))


def test_path_must_be_absolute(monkeypatch):
    monkeypatch.setenv("DATA_DIR", "relative/dir")
    with pytest.raises(EnvError, match="DATA_DIR must be an absolute path"):
        env_path("DATA_DIR", default=None)


def test_list_rejects_empty_items(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", "a.org,,b.org")
    with pytest.raises(EnvError, match="ALLOWED_HOSTS must be a comma-separated list"):
        env_list("ALLOWED_HOSTS", [])


def test_env_rate_accepts_drf_rates_and_names_a_bad_one(monkeypatch):
    from l1kweb.env import EnvError, env_rate

    monkeypatch.setenv("SOME_RATE", "120/minute")
    assert env_rate("SOME_RATE", "1/day") == "120/minute"
    monkeypatch.delenv("SOME_RATE")
    assert env_rate("SOME_RATE", "1/day") == "1/day"
    for bad in ("120", "0/minute", "fast", "10/fortnight"):
        monkeypatch.setenv("SOME_RATE", bad)
        with pytest.raises(EnvError, match=f"SOME_RATE must be a rate such as 600/minute.*{bad!r}"):
            env_rate("SOME_RATE", "1/day")
