"""Django configured inside the test process, on a migrated PostgreSQL database of its own, for tests
that call services and models directly (no web server or worker)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.support.platform import POSTGRES


def _database_url(name: str) -> str:
    base, _, _ = POSTGRES.rpartition("/")
    return f"{base}/{name}"


@contextmanager
def django_database(var_dir: Path) -> Iterator[str]:
    """Configure Django (once per process) on a fresh database; yields its name."""
    import django
    from django.conf import settings

    if settings.configured:
        raise RuntimeError("Django is already configured in this test process")
    database = f"streamplane_inproc_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    env = {
        "DJANGO_SETTINGS_MODULE": "controlplane.settings",
        "DATABASE_URL": _database_url(database),
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
        "STREAMPLANE_VAR_DIR": str(var_dir),
        "LOG_LEVEL": "WARNING",
    }
    # The settings module reads the environment once, at setup; the processes the rest of the
    # session starts (from os.environ) must not inherit these.
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    try:
        yield database
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
