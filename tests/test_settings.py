"""Configuration comes from the environment and fails loudly when it is wrong."""

import os
import subprocess
import sys
import tempfile

import pytest
from django.core.exceptions import ImproperlyConfigured

from opsconsole.environment import env_bool, env_float, env_int, env_list

BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def settings_in_subprocess(env, expression):
    """Evaluate ``expression`` against settings loaded from exactly ``env``."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY")
    }
    # An empty var/ of its own: a kept var/secret_key must not stand in for a missing SECRET_KEY.
    clean["OPSCONSOLE_VAR_DIR"] = tempfile.mkdtemp(prefix="opsconsole-settings-")
    clean.update(env)
    code = (
        "import os, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'opsconsole.settings'); "
        f"from django.conf import settings; print(repr({expression}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=clean, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("off", False),
        ("", False),
    ],
)
def test_booleans_accept_the_usual_words(monkeypatch, raw, expected):
    monkeypatch.setenv("OPSCONSOLE_FLAG", raw)
    assert env_bool("OPSCONSOLE_FLAG") is expected


def test_a_boolean_typo_is_an_error_naming_the_variable(monkeypatch):
    monkeypatch.setenv("DEBUG", "ture")
    with pytest.raises(ImproperlyConfigured, match="DEBUG='ture' is not a boolean"):
        env_bool("DEBUG")


def test_unset_variables_take_their_defaults(monkeypatch):
    monkeypatch.delenv("OPSCONSOLE_X", raising=False)
    assert env_int("OPSCONSOLE_X", 7) == 7
    assert env_list("OPSCONSOLE_X", ["a"]) == ["a"]
    assert env_bool("OPSCONSOLE_X", True) is True


def test_whole_numbers_are_checked_for_form_and_bounds(monkeypatch):
    monkeypatch.setenv("OPSCONSOLE_RETENTION_DAYS", "seven")
    with pytest.raises(ImproperlyConfigured, match="not a whole number"):
        env_int("OPSCONSOLE_RETENTION_DAYS", 7, minimum=1)
    monkeypatch.setenv("OPSCONSOLE_RETENTION_DAYS", "0")
    with pytest.raises(ImproperlyConfigured, match="below the minimum of 1"):
        env_int("OPSCONSOLE_RETENTION_DAYS", 7, minimum=1)


def test_intervals_must_be_finite_numbers(monkeypatch):
    monkeypatch.setenv("OPSCONSOLE_COLLECT_INTERVAL", "nan")
    with pytest.raises(ImproperlyConfigured, match="not a finite number"):
        env_float("OPSCONSOLE_COLLECT_INTERVAL", 5.0)


def test_lists_are_comma_separated_and_blanks_ignored(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", " ops.example.com, ,localhost ")
    assert env_list("ALLOWED_HOSTS") == ["ops.example.com", "localhost"]


def test_secret_key_is_required_when_debug_is_off():
    result = settings_in_subprocess({}, "settings.SECRET_KEY")
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_debug_is_off_unless_asked_for():
    result = settings_in_subprocess({"SECRET_KEY": "k" * 50}, "settings.DEBUG")
    assert result.stdout.strip() == "False", result.stderr


def test_embedded_shape_uses_sqlite_and_the_in_memory_layer(tmp_path):
    result = settings_in_subprocess(
        {"SECRET_KEY": "k" * 50, "OPSCONSOLE_VAR_DIR": str(tmp_path)},
        "(settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['NAME'],"
        " settings.CHANNEL_LAYERS['default']['BACKEND'])",
    )
    engine, name, layer = eval(result.stdout)  # noqa: S307 - our own repr of three strings
    assert engine == "django.db.backends.sqlite3"
    assert name == str(tmp_path / "opsconsole.sqlite3")
    assert layer == "channels.layers.InMemoryChannelLayer"


def test_redis_url_selects_the_redis_pubsub_layer_and_celery_broker():
    result = settings_in_subprocess(
        {"SECRET_KEY": "k" * 50, "REDIS_URL": "redis://cache.internal:6379/0"},
        "(settings.CHANNEL_LAYERS['default'], settings.CELERY_BROKER_URL)",
    )
    layer, broker = eval(result.stdout)  # noqa: S307
    assert layer["BACKEND"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert layer["CONFIG"]["hosts"] == ["redis://cache.internal:6379/0"]
    assert broker == "redis://cache.internal:6379/0"


def test_database_url_selects_postgres():
    result = settings_in_subprocess(
        {"SECRET_KEY": "k" * 50, "DATABASE_URL": "postgres://ops:pw@db.internal:5432/opsconsole"},
        "(settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['HOST'],"
        " settings.DATABASES['default']['NAME'])",
    )
    assert eval(result.stdout) == ("django.db.backends.postgresql", "db.internal", "opsconsole")  # noqa: S307


def test_https_switch_turns_on_secure_cookies_and_hsts():
    result = settings_in_subprocess(
        {"SECRET_KEY": "k" * 50, "OPSCONSOLE_HTTPS": "1"},
        "(settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, settings.SECURE_SSL_REDIRECT,"
        " settings.SECURE_HSTS_SECONDS > 0)",
    )
    assert eval(result.stdout) == (True, True, True, True)  # noqa: S307


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL: the Celery broker is Redis only then")
def test_celery_jobs_are_queued_under_the_consoles_redis_prefix():
    import redis
    from django.conf import settings

    from opsconsole.celery import app

    client = redis.Redis.from_url(str(settings.REDIS_URL))
    queue = f"{settings.OPSCONSOLE_REDIS_PREFIX}:celery"
    client.delete(queue)
    try:
        app.send_task("realtime.tasks.run_job", args=("no-such-job",))
        assert client.llen(queue) == 1
        assert client.llen("celery") == 0  # where an unprefixed console would have queued it
    finally:
        client.delete(queue)
