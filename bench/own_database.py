"""A benchmark's own PostgreSQL database and DATA_DIR, with Django set up on them, and their removal."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import psycopg

ADMIN_URL = "postgresql://root@127.0.0.1:5432/postgres"


def setup_django(db: str, data_dir: Path, **environment: str) -> None:
    """(Re)create database `db`, point Django at it and at `data_dir` (no Redis: the local-memory cache), migrate."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {db}")
        admin.execute(f"CREATE DATABASE {db}")
    os.environ.update(DATABASE_URL=f"postgres://root@127.0.0.1:5432/{db}", DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="l1kweb.settings", LOG_LEVEL="WARNING", **environment)
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def tear_down(db: str, data_dir: Path) -> None:
    from django.db import connections

    connections.close_all()
    shutil.rmtree(data_dir, ignore_errors=True)
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {db}")
