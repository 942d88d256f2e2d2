"""docker-compose.yml runs real modules of this project, with health checks."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml
from django.core.management import get_commands
from django.utils.module_loading import import_string

from tests.live import free_port, running_console

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


# --- Settings reach every service that reads them ------------------------------------

BASE_DIR = Path(__file__).resolve().parent.parent
# What compose itself fixes for its own Postgres and Redis, whatever .env says.
FIXED_BY_COMPOSE = {"DATABASE_URL", "REDIS_URL"}
DJANGO_ENTRY_POINTS = ("manage.py", "daphne", "celery")


def readme_settings():
    """Every variable the README's configuration table names, in its first column."""
    lines = (BASE_DIR / "README.md").read_text().splitlines()
    start = lines.index("| variable | default | meaning |")
    names = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        names += re.findall(r"`([A-Z][A-Z0-9_]*)`", line.split("|")[1])
    return names


def settings_reads():
    """Every environment variable opsconsole/settings.py reads through its helpers."""
    source = (BASE_DIR / "opsconsole" / "settings.py").read_text()
    return set(re.findall(r"\benv_[a-z]+\(\s*\"([A-Z][A-Z0-9_]*)\"", source))


def dotenv_values(path, *, commented_too=False):
    """``NAME=value`` lines of an env file (with ``commented_too``, also the ``#NAME=value`` ones)."""
    values = {}
    for line in path.read_text().splitlines():
        match = re.fullmatch(r"(#?)([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match and (commented_too or not match[1]):
            values[match[2]] = match[3]
    return values


def env_example():
    """The .env.example as compose would read it with every line uncommented."""
    return dotenv_values(BASE_DIR / ".env.example", commented_too=True)


def readme_production_commands():
    """The shell lines of the README's Production block."""
    text = (BASE_DIR / "README.md").read_text()
    block = text[text.index("## Production") :].split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


def interpolate(value, dotenv):
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}`` against ``dotenv``, as it reads .env."""

    def substitute(match):
        name, operator, word = match[1], match[2], match[3]
        if dotenv.get(name):
            return dotenv[name]
        if operator == ":?":
            raise AssertionError(f"compose would refuse to start: {word}")
        return word or ""

    return re.sub(r"\$\{([A-Z][A-Z0-9_]*)(?:(:-|:\?)([^}]*))?\}", substitute, str(value))


def effective_environment(service, dotenv):
    """What a container of ``service`` sees: its env_file (.env), then its ``environment``, which wins."""
    files = [entry["path"] if isinstance(entry, dict) else entry for entry in service.get("env_file", [])]
    seen = dict(dotenv) if ".env" in files else {}
    seen.update({name: interpolate(value, dotenv) for name, value in service.get("environment", {}).items()})
    return seen


def reads_settings(service):
    return any(word in DJANGO_ENTRY_POINTS for word in " ".join(map(str, service.get("command", []))).split())


APP_SERVICES = [name for name, service in SERVICES.items() if reads_settings(service)]


def test_the_readme_table_names_exactly_the_settings_read_from_the_environment():
    assert set(readme_settings()) == settings_reads()


def test_env_example_lists_every_setting_of_the_readme_table():
    assert sorted(set(readme_settings()) - set(env_example())) == []


def test_the_readme_recipe_makes_a_dot_env_compose_starts_with(tmp_path):
    commands = readme_production_commands()
    making_env = [command for command in commands if ".env" in command and not command.startswith("docker")]
    assert making_env and making_env[0] == "cp .env.example .env"
    shutil.copy(BASE_DIR / ".env.example", tmp_path / ".env.example")
    for command in making_env:
        subprocess.run(["bash", "-c", command], cwd=tmp_path, check=True, timeout=30)
    dotenv = dotenv_values(tmp_path / ".env")
    assert len(dotenv["SECRET_KEY"]) >= 50
    assert effective_environment(SERVICES["web"], dotenv)["SECRET_KEY"] == dotenv["SECRET_KEY"]


def test_the_readme_gives_the_compose_recipe_for_an_api_token():
    commands = readme_production_commands()
    assert 'docker compose exec web python manage.py create_api_token admin --name "agent web-1"' in commands
    assert "create_api_token" in get_commands()


def test_every_service_running_django_is_an_app_service():
    assert APP_SERVICES == ["migrate", "web", "worker", "beat"]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_readme_setting_in_env_reaches_the_service(name):
    dotenv = {setting: f"value-of-{setting}" for setting in readme_settings()}
    seen = effective_environment(SERVICES[name], dotenv)
    wrong = {
        setting: seen.get(setting)
        for setting in readme_settings()
        if setting not in FIXED_BY_COMPOSE and seen.get(setting) != dotenv[setting]
    }
    assert wrong == {}
    assert seen["DATABASE_URL"].startswith("postgres://") and seen["DATABASE_URL"].endswith("@db:5432/opsconsole")
    assert seen["REDIS_URL"] == "redis://redis:6379/0"


def test_services_start_without_a_dot_env_file_when_secret_key_is_exported():
    for name in APP_SERVICES:
        assert {"path": ".env", "required": False} in SERVICES[name]["env_file"]


def test_without_a_secret_key_compose_refuses_to_start():
    with pytest.raises(AssertionError, match="set SECRET_KEY"):
        effective_environment(SERVICES["web"], {})


def test_web_and_worker_tag_host_metrics_with_one_name():
    unset = {name: effective_environment(SERVICES[name], {"SECRET_KEY": "k"}) for name in APP_SERVICES}
    assert {seen["OPSCONSOLE_HOSTNAME"] for seen in unset.values()} == {"opsconsole"}
    chosen = {"SECRET_KEY": "k", "OPSCONSOLE_HOSTNAME": "ops-1"}
    assert {effective_environment(SERVICES[name], chosen)["OPSCONSOLE_HOSTNAME"] for name in APP_SERVICES} == {"ops-1"}


# --- The web health check, run as compose runs it --------------------------------------


def run_healthcheck(url):
    test = SERVICES["web"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env["OPSCONSOLE_PROBE_URL" if url else "UNUSED"] = url or ""
    return subprocess.run(test[1:], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=30)


def test_the_web_health_check_asks_for_readiness():
    from scripts.probe import DEFAULT_URL

    assert SERVICES["web"]["healthcheck"]["test"] == ["CMD", "python", "scripts/probe.py"]
    assert DEFAULT_URL == "http://127.0.0.1:8000/readyz"  # the port daphne binds in the web service
    assert "8000" in SERVICES["web"]["command"]


def test_the_web_health_check_fails_when_nothing_answers():
    result = run_healthcheck(f"http://127.0.0.1:{free_port()}/readyz")
    assert result.returncode == 1 and "no answer" in result.stdout


@pytest.mark.services
def test_the_web_health_check_passes_with_a_real_host_name_and_https_on():
    production = {"ALLOWED_HOSTS": "ops.example.com", "OPSCONSOLE_HTTPS": "1", "OPSCONSOLE_BEHIND_PROXY": "1"}
    with running_console("services", extra_env=production) as console:
        result = run_healthcheck(f"{console.url}/readyz")
        assert (result.returncode, result.stdout.strip()) == (0, "200 ready"), result.stdout + result.stderr
        # The settings are in force for everything but the probes:
        page = requests.get(f"{console.url}/login/", allow_redirects=False, timeout=10)
        assert page.status_code == 400  # 127.0.0.1 is not an allowed host
        page = requests.get(
            f"{console.url}/login/", headers={"Host": "ops.example.com"}, allow_redirects=False, timeout=10
        )
        assert page.status_code == 301 and page.headers["Location"] == "https://ops.example.com/login/"
