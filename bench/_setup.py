"""Shared by the bench scripts: a throwaway Postgres database and Django set up on it, or a live console's settings."""

import contextlib
import os
import resource
import secrets
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def live_console_settings(open_files):
    """For benches that start consoles (``tests.live``): the repository importable, the shared services, file room.

    ``open_files``: the soft limit wanted for this process and its children
    (each client socket is a file), raised up to the hard limit.
    """
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, open_files)), hard))


def _with_database(url, name):
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@contextlib.contextmanager
def throwaway_database(prefix):
    """Create a database, point Django at it, migrate; drop it afterwards. Yields its URL."""
    import psycopg

    base = os.environ.get("DATABASE_URL", DEFAULT_URL)
    name = f"{prefix}_{secrets.token_hex(3)}"
    admin_url = _with_database(base, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(base, name)
    os.environ["DATABASE_URL"] = url
    os.environ.pop("REDIS_URL", None)  # the benches measure the database path, in one process
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsconsole.settings")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()  # lets django.test.Client talk to the app in-process
    call_command("migrate", verbosity=0)
    try:
        yield url
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
