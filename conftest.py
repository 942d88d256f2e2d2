"""Suite-wide set-up: secrets for direct pytest runs, and the services rule.

With ``OPSCONSOLE_REQUIRE_SERVICES=1`` (CI), a missing Postgres or Redis is a
failure at start-up, never a quiet fall-back to SQLite or memory.
"""

import os
import secrets

import pytest

from tests.factories import make_token, make_user

os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

# Fixtures shared by tests in several apps live in helper modules, not test modules.
pytest_plugins = ["tests.api_schema"]


def pytest_configure(config):
    if os.environ.get("OPSCONSOLE_REQUIRE_SERVICES") != "1":
        return
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        raise pytest.UsageError("OPSCONSOLE_REQUIRE_SERVICES=1 needs DATABASE_URL pointing at Postgres.")
    if not os.environ.get("REDIS_URL"):
        raise pytest.UsageError("OPSCONSOLE_REQUIRE_SERVICES=1 needs REDIS_URL.")
    import psycopg
    import redis

    try:
        psycopg.connect(database_url, connect_timeout=5).close()
    except psycopg.Error as error:
        raise pytest.UsageError(f"Postgres at DATABASE_URL does not answer: {error}") from None
    try:
        redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=5).ping()
    except redis.RedisError as error:
        raise pytest.UsageError(f"Redis at REDIS_URL does not answer: {error}") from None


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    """In-process tests render templates without needing `collectstatic` first.

    The hashed manifest is a build step; the live-server tests exercise it.
    """
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fresh_runbook_list():
    """Each test matches against its own runbooks: a rolled-back one must not linger in the process's list."""
    from runbooks.matching import forget_runbooks

    forget_runbooks()
    yield
    forget_runbooks()


@pytest.fixture
def staff_user(db):
    return make_user(staff=True)


@pytest.fixture
def plain_user(db):
    return make_user(staff=False)


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def admin_client(client):
    """A client signed in as a superuser, for the admin's pages."""
    client.force_login(make_user(superuser=True))
    return client


@pytest.fixture
def staff_token(staff_user):
    """The key of an API token of a staff user."""
    return make_token(staff_user)[1]
