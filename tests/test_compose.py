"""docker-compose.yml runs real modules of this project, with health checks."""

from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands
from django.utils.module_loading import import_string

COMPOSE = yaml.safe_load((Path(__file__).resolve().parent.parent / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
LONG_RUNNING = ("db", "redis", "web", "worker", "beat")


def test_the_production_shape_has_every_service_of_the_contract():
    assert set(SERVICES) == {"db", "redis", "migrate", "web", "worker", "beat"}
    assert SERVICES["db"]["image"].startswith("postgres:16")
    assert SERVICES["redis"]["image"].startswith("redis:7")


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_every_long_running_service_has_a_health_check(name):
    assert SERVICES[name]["healthcheck"]["test"]


def test_web_serves_the_asgi_application_with_daphne():
    command = SERVICES["web"]["command"]
    assert command[0] == "daphne"
    module, _, attribute = command[-1].partition(":")
    assert callable(import_string(f"{module}.{attribute}"))


@pytest.mark.parametrize("name, subcommand", [("worker", "worker"), ("beat", "beat")])
def test_celery_services_name_the_project_celery_app(name, subcommand):
    command = SERVICES[name]["command"]
    assert command[:3] == ["celery", "-A", "opsconsole"]
    assert command[3] == subcommand
    from celery import Celery

    assert isinstance(import_string("opsconsole.celery.app"), Celery)


def test_migrate_runs_real_management_commands_before_the_app_starts():
    script = SERVICES["migrate"]["command"][-1]
    commands = [part.split()[2] for part in script.split("&&")]
    assert commands == ["migrate", "ensure_admin"]
    assert all(command in get_commands() for command in commands)
    for name in ("web", "worker", "beat"):
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_app_services_require_a_secret_key_from_the_environment():
    assert SERVICES["web"]["environment"]["SECRET_KEY"].startswith("${SECRET_KEY:?")
