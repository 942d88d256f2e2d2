"""The newcomer's first minutes: the README's commands as written, and start-up failures that say why.

The fresh-clone tests clone this repository's HEAD (committed work only) and
reuse the already installed virtualenv through a ``.venv`` symlink instead of
installing it again; the pin files' dates are set back so `make` sees that
venv as up to date. Everything else runs exactly as the README writes it.
"""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import websockets

from tests.live import free_port, run_coroutine, running_console

BASE_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
VENV = Path(sys.executable).parent.parent.resolve()
# Settings a newcomer's shell does not have.
FOREIGN = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "DEBUG")


def newcomer_env(**extra: str) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in FOREIGN and not key.startswith("OPSCONSOLE_")}
    env.update(extra)
    return env


def readme_first_screen() -> list[str]:
    """The shell commands of the README's first code block, comments stripped."""
    block = re.search(r"```sh\n(.*?)```", (BASE_DIR / "README.md").read_text(), re.S).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.split("#")[0].strip()]


def readme_token_command() -> str:
    text = (BASE_DIR / "README.md").read_text()
    return re.search(r"^(\.venv/bin/python manage\.py create_api_token .*)$", text, re.M).group(1)


@pytest.fixture
def fresh_clone(tmp_path: Path) -> Path:
    clone = tmp_path / "opsconsole"
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=BASE_DIR, capture_output=True, text=True, check=True)
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(BASE_DIR), str(clone)], check=True, timeout=120)
    subprocess.run(["git", "checkout", "-q", head.stdout.strip()], cwd=clone, check=True, timeout=60)
    (clone / ".venv").symlink_to(VENV)
    for pins in ("requirements.txt", "requirements-test.txt"):
        os.utime(clone / pins, (0, 0))  # older than the venv's install stamps: nothing to reinstall
    return clone


def run_in_shell(command: str, clone: Path) -> subprocess.CompletedProcess:
    """A README command run to its end by a shell, as a newcomer would, in ``clone``."""
    return subprocess.run(  # noqa: S602 - the README's command, run by a shell as a user would
        command, shell=True, cwd=clone, env=newcomer_env(), capture_output=True, text=True, timeout=280
    )


def wait_until_served(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"make run exited with {process.returncode}"
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.5)
    raise AssertionError(f"{url} was not served within {timeout} s")


def test_the_first_screen_is_make_run_and_make_test():
    assert readme_first_screen() == ["make run", "make test"]


@pytest.mark.timeout(300)
def test_make_run_then_the_readme_token_command_gives_a_token_the_api_accepts(fresh_clone: Path):
    port = free_port()
    env = newcomer_env()
    server = subprocess.Popen(  # noqa: S602 - the README's command, run by a shell as a user would
        f"make run PORT={port}",
        shell=True,
        cwd=fresh_clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until_served(f"http://127.0.0.1:{port}", server)
        created = subprocess.run(  # noqa: S602 - the README's command, run by a shell as a user would
            readme_token_command(), shell=True, cwd=fresh_clone, env=env, capture_output=True, text=True, timeout=60
        )
        assert created.returncode == 0, created.stderr
        assert "Traceback" not in created.stderr
        token = created.stdout.strip().splitlines()[-1]
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/alerts/", headers={"Authorization": f"Token {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


@pytest.mark.timeout(300)
def test_make_test_runs_pytest_in_a_fresh_clone(fresh_clone: Path):
    # The whole suite takes long; one module shows the target works from a clone.
    result = run_in_shell('make test PYTEST_ARGS="-q -p no:cacheprovider tests/test_settings.py"', fresh_clone)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert re.search(r"\d+ passed", result.stdout)


def test_manage_py_reads_the_kept_secret_key_in_the_embedded_shape(tmp_path: Path):
    (tmp_path / "secret_key").write_text("kept-key-" * 6 + "\n")
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "--no-imports",
            "-c",
            "from django.conf import settings; print(settings.SECRET_KEY)",
        ],
        cwd=BASE_DIR,
        env=newcomer_env(OPSCONSOLE_VAR_DIR=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "kept-key-" * 6


@pytest.mark.parametrize("service", ["DATABASE_URL", "REDIS_URL"])
def test_the_kept_secret_key_is_never_used_with_services(tmp_path: Path, service: str):
    (tmp_path / "secret_key").write_text("kept-key-" * 6)
    url = {"DATABASE_URL": "postgres://ops@db.internal/opsconsole", "REDIS_URL": "redis://cache.internal:6379/0"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=newcomer_env(OPSCONSOLE_VAR_DIR=str(tmp_path), **{service: url[service]}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "SECRET_KEY is required" in result.stderr


ENTRY_POINTS = {
    "manage.py": [sys.executable, "manage.py", "check"],
    "serve": [sys.executable, "manage.py", "serve", "--port", "0"],
    "daphne": [str(BIN / "daphne"), "-p", "0", "opsconsole.asgi:application"],
    "celery worker": [str(BIN / "celery"), "-A", "opsconsole", "worker"],
    "celery beat": [str(BIN / "celery"), "-A", "opsconsole", "beat"],
}


def start_with(command: list[str], tmp_path: Path, **settings: str) -> tuple[int, list[str]]:
    """Start ``command`` with ``settings`` (and a secret key); its exit code and the lines of its stderr."""
    result = subprocess.run(
        command,
        cwd=BASE_DIR,
        env=newcomer_env(SECRET_KEY="k" * 50, OPSCONSOLE_VAR_DIR=str(tmp_path), **settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode, result.stderr.strip().splitlines()


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_a_bad_setting_is_one_line_and_exit_code_2_from_every_entry_point(entry_point: str, tmp_path: Path):
    assert start_with(ENTRY_POINTS[entry_point], tmp_path, OPSCONSOLE_COLLECT_INTERVAL="fast") == (
        2,
        [
            "opsconsole: configuration error: OPSCONSOLE_COLLECT_INTERVAL='fast' is not a number; "
            "for example OPSCONSOLE_COLLECT_INTERVAL=5"
        ],
    )


def test_a_bad_log_format_is_one_line_and_exit_code_2(tmp_path: Path):
    assert start_with(ENTRY_POINTS["manage.py"], tmp_path, LOG_FORMAT="xml") == (
        2,
        ["opsconsole: configuration error: LOG_FORMAT='xml' is neither plain nor json; for example LOG_FORMAT=json"],
    )


def test_a_missing_secret_key_says_how_to_make_one(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=newcomer_env(OPSCONSOLE_VAR_DIR=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "SECRET_KEY is required when DEBUG is off" in line and "for example SECRET_KEY=$(python3" in line


def test_serve_on_a_busy_port_exits_non_zero_without_claiming_to_serve(tmp_path: Path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "manage.py", "serve", "--port", str(port)],
            cwd=BASE_DIR,
            env=newcomer_env(SECRET_KEY="k" * 50, OPSCONSOLE_VAR_DIR=str(tmp_path)),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert "is serving" not in result.stdout
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


@pytest.mark.timeout(300)
def test_make_run_on_a_busy_port_exits_non_zero(fresh_clone: Path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_in_shell(f"make run PORT={port}", fresh_clone)
    assert result.returncode != 0, result.stdout[-2000:]
    assert "is serving" not in result.stdout
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


async def _handshake_status(url: str) -> int:
    try:
        async with websockets.connect(url, additional_headers={"Origin": "http://127.0.0.1"}):
            return 101
    except websockets.InvalidStatus as refused:
        return refused.response.status_code


def test_an_unknown_websocket_path_is_refused_at_the_handshake():
    with running_console("embedded") as console:
        ws = console.url.replace("http://", "ws://")
        assert run_coroutine(_handshake_status(f"{ws}/ws/no-such-stream")) in (403, 404)
        assert run_coroutine(_handshake_status(f"{ws}/elsewhere")) in (403, 404)
