"""Real consoles in subprocesses, in either shape, for end-to-end tests.

``running_console("embedded")`` is what `make run` starts: one
``manage.py serve`` process on SQLite with the in-memory layer and in-process
jobs. ``running_console("services", web_processes=2)`` is the production
shape: daphne processes, a Celery worker and Celery beat on a throwaway
Postgres database and a private Redis prefix. Everything started is stopped,
and the database dropped, when the block ends.
"""

import contextlib
import fcntl
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ADMIN_USERNAME = "admin"
START_TIMEOUT_SECONDS = 60
# Periodic jobs an hour apart: out of the way of a test that counts pushes.
# A swarm drives thousands of sockets with one token from one loopback address:
# the per-user and per-address caps would refuse all but the first few hundred.
SWARM_CAPS = {"OPSCONSOLE_WS_MAX_PER_USER": "1000000", "OPSCONSOLE_WS_MAX_PER_ADDRESS": "1000000"}
QUIET_JOBS = dict.fromkeys(
    (
        "OPSCONSOLE_COLLECT_INTERVAL",
        "OPSCONSOLE_METRICS_BROADCAST_INTERVAL",
        "OPSCONSOLE_RULES_INTERVAL",
        "OPSCONSOLE_SUMMARY_INTERVAL",
        "OPSCONSOLE_NOTIFY_INTERVAL",
    ),
    "3600",
)
# Each console counts its own metrics, under its own var dir.
SCRUBBED = (
    "DATABASE_URL",
    "REDIS_URL",
    "OPSCONSOLE_REDIS_PREFIX",
    "OPSCONSOLE_VAR_DIR",
    "DJANGO_SETTINGS_MODULE",
    "PROMETHEUS_MULTIPROC_DIR",
)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def services_or_skip():
    """The Postgres and Redis URLs the services shape uses; a skip only when services are optional."""
    database_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if database_url.startswith(("postgres://", "postgresql://")) and redis_url:
        return database_url, redis_url
    if os.environ.get("OPSCONSOLE_REQUIRE_SERVICES") == "1":
        pytest.fail("The services shape needs DATABASE_URL (Postgres) and REDIS_URL.")
    pytest.skip("DATABASE_URL/REDIS_URL not set: the services shape needs Postgres and Redis")


def with_database(url, name):
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


_collected = {}
_collecting = threading.Lock()
STATIC_CACHE = BASE_DIR / "var" / "test-static"


def _static_sources_key():
    """What collected files depend on: the console's static files, the pinned packages' (theirs) and the settings."""
    digest = hashlib.sha256()
    for path in sorted((BASE_DIR / "static").rglob("*")):
        if path.is_file():
            digest.update(f"{path.relative_to(BASE_DIR)}\0".encode() + path.read_bytes())
    for name in ("requirements.txt", "opsconsole/settings.py"):
        digest.update((BASE_DIR / name).read_bytes())
    return digest.hexdigest()[:16]


def collected_static(env):
    """The static files, collected once and shared by every console, across test runs and test processes.

    Collecting compresses every file (brotli and gzip), seconds of CPU that
    each console, each run and each pytest-xdist worker would otherwise repeat
    for the same files; a change to a static file, a pin or the settings makes
    a fresh collection.
    """
    with _collecting:
        if "root" not in _collected:
            STATIC_CACHE.mkdir(parents=True, exist_ok=True)
            key = _static_sources_key()
            with open(STATIC_CACHE / ".lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be collecting the same files
                if not (STATIC_CACHE / key).is_dir():
                    var_dir = Path(tempfile.mkdtemp(prefix="collecting-", dir=STATIC_CACHE))
                    subprocess.run(
                        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
                        cwd=BASE_DIR,
                        env={**env, "OPSCONSOLE_VAR_DIR": str(var_dir)},
                        check=True,
                        capture_output=True,
                        timeout=300,
                    )
                    for stale in STATIC_CACHE.iterdir():  # earlier collections, and any a killed run left half done
                        if stale.is_dir() and stale != var_dir:
                            shutil.rmtree(stale, ignore_errors=True)
                    (var_dir / "static").rename(STATIC_CACHE / key)
                    shutil.rmtree(var_dir, ignore_errors=True)
            _collected["root"] = STATIC_CACHE / key
        return _collected["root"]


@dataclass
class Console:
    shape: str
    env: dict
    urls: list
    password: str
    token: str
    processes: list = field(default_factory=list)
    workers: list = field(default_factory=list)  # the Celery worker and beat of the services shape

    @property
    def url(self):
        return self.urls[0]

    def manage(self, *args, timeout=60):
        """Run a management command against this console's database and layer."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def publish(self, topic, type_, data):
        """Publish one event from a separate process, as a job or a REST write would."""
        code = (
            "from realtime.publish import publish; import json; "
            f"print(json.dumps(publish({topic!r}, {type_!r}, {data!r})))"
        )
        return self.manage("shell", "--no-imports", "-c", code).strip().splitlines()[-1]

    def stop_web(self, index=0):
        """Stop one web process (as a crash would) and return how to start it again."""
        process, command = self.processes[index]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        return command

    def start_web(self, index, command):
        process = _spawn(command, self.env)
        self.processes[index] = (process, command)
        _wait_healthy(self.urls[index], process)


def _spawn(command, env):
    log = tempfile.TemporaryFile()  # noqa: SIM115 - the process's log, read and closed when it stops
    process = subprocess.Popen(
        command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    process.log = log  # type: ignore[attr-defined]  # read back when the process stops
    return process


def _output(process):
    process.log.seek(0)
    return process.log.read().decode(errors="replace")[-4000:]


def _wait_healthy(url, process):
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url} exited with {process.returncode}:\n{_output(process)}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not become healthy:\n{_output(process)}")


@contextlib.contextmanager
def running_console(shape, *, web_processes=1, extra_env=None, database_url=None, redis_url=None, soft_file_limit=None):
    """Start a console of ``shape`` and stop it, dropping its database, when the block ends.

    ``database_url`` (a Postgres server; the database name in it is ignored)
    and ``redis_url`` put the services shape on other servers than
    ``DATABASE_URL``/``REDIS_URL``, e.g. private ones a fault test may stop.
    ``soft_file_limit`` starts the web processes under that soft open-file
    limit (as a shell with ``ulimit -Sn`` would).
    """
    var_dir = Path(tempfile.mkdtemp(prefix=f"opsconsole-{shape}-"))
    env = {key: value for key, value in os.environ.items() if key not in SCRUBBED}
    env.update(
        SECRET_KEY=secrets.token_urlsafe(50),
        OPSCONSOLE_VAR_DIR=str(var_dir),
        PYTHONUNBUFFERED="1",
        DJANGO_SUPERUSER_PASSWORD=secrets.token_urlsafe(12),
        DJANGO_SUPERUSER_USERNAME=ADMIN_USERNAME,
        DJANGO_SUPERUSER_EMAIL="admin@example.invalid",
    )
    database_name = None
    if shape == "services":
        if not (database_url and redis_url):
            default_database_url, default_redis_url = services_or_skip()
            database_url, redis_url = database_url or default_database_url, redis_url or default_redis_url
        database_name = f"oc_live_{secrets.token_hex(4)}"
        _admin_sql(database_url, f'CREATE DATABASE "{database_name}"')
        env.update(
            DATABASE_URL=with_database(database_url, database_name),
            REDIS_URL=redis_url,
            OPSCONSOLE_REDIS_PREFIX=f"oclive{secrets.token_hex(4)}",
        )
    env.update(extra_env or {})
    console = Console(shape=shape, env=env, urls=[], password=env["DJANGO_SUPERUSER_PASSWORD"], token="")
    workers = console.workers
    try:
        console.manage("migrate", "--noinput", timeout=180)
        (var_dir / "static").symlink_to(collected_static(env), target_is_directory=True)
        console.manage("createsuperuser", "--noinput")
        console.token = console.manage("create_api_token", ADMIN_USERNAME, "--name", "e2e").strip().splitlines()[-1]
        for _ in range(web_processes):
            port = free_port()
            if shape == "embedded":
                command = [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)]
            else:
                command = [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "opsconsole.asgi:application"]
            if soft_file_limit is not None:
                command = ["prlimit", f"--nofile={soft_file_limit}:", "--", *command]
            console.processes.append((_spawn(command, env), command))
            console.urls.append(f"http://127.0.0.1:{port}")
        if shape == "services":
            celery = [str(BIN / "celery"), "-A", "opsconsole"]
            workers.append(
                _spawn([*celery, "worker", "--pool", "threads", "--concurrency", "4", "--loglevel", "WARNING"], env)
            )
            workers.append(_spawn([*celery, "beat", "--loglevel", "WARNING", "--schedule", str(var_dir / "beat")], env))
        for url, (process, _) in zip(console.urls, console.processes, strict=False):
            _wait_healthy(url, process)
        yield console
    finally:
        for process in [process for process, _ in console.processes] + workers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in [process for process, _ in console.processes] + workers:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        if database_name:
            _admin_sql(database_url, f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')
            _forget_redis_keys(redis_url, env["OPSCONSOLE_REDIS_PREFIX"])
        shutil.rmtree(var_dir, ignore_errors=True)


def _forget_redis_keys(redis_url, prefix):
    """Drop the console's keys (replay buffers, cache, Celery queue): each run has its own prefix, and they add up."""
    import redis

    try:
        client = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))  # a few dozen
        if keys:
            client.delete(*keys)
    except (redis.RedisError, OSError):
        pass  # a fault test's private Redis may be gone by now, and its keys with it


def _admin_sql(database_url, statement):
    import psycopg

    with psycopg.connect(with_database(database_url, "postgres"), autocommit=True, connect_timeout=10) as connection:
        connection.execute(statement)


def run_coroutine(coroutine):
    """Run ``coroutine`` to completion on a fresh event loop in its own thread.

    Sync tests use this rather than ``asyncio.run``, which refuses to start
    while another loop runs on the main thread (Playwright's sync API keeps
    one there for the whole session).
    """
    import asyncio
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
