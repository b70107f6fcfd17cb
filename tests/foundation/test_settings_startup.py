"""Settings are imported in a fresh interpreter so that start-up guards really run."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _import_settings(**env):
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG", "L1KWEB_ENV"}}
    clean.update(env)
    code = "import l1kweb.settings as s; print(s.EMBEDDED, s.CELERY_TASK_ALWAYS_EAGER, s.DATABASES['default']['ENGINE'])"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True)


def test_embedded_default_uses_sqlite_and_in_process_tasks():
    result = _import_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "django.db.backends.sqlite3"]


def test_database_and_broker_urls_select_postgres_and_celery():
    result = _import_settings(DATABASE_URL="postgres://u@db:5432/l1kweb", REDIS_URL="redis://redis:6379/0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "django.db.backends.postgresql"]


def test_production_refuses_to_start_without_secret_key():
    result = _import_settings(L1KWEB_ENV="production")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when L1KWEB_ENV=production" in result.stderr


def test_production_refuses_debug():
    result = _import_settings(L1KWEB_ENV="production", SECRET_KEY="x" * 50, DEBUG="1")
    assert result.returncode != 0
    assert "DEBUG must be off when L1KWEB_ENV=production" in result.stderr


def test_bad_debug_value_names_the_variable():
    result = _import_settings(DEBUG="perhaps")
    assert result.returncode != 0
    assert "DEBUG must be one of" in result.stderr
