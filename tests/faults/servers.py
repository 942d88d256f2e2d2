"""Private Redis and Postgres servers on free loopback ports, for tests that stop them.

The shared servers other tests use must never go down, so a fault test runs
its console on servers of its own. Both come up in about a second, are
stopped as a crash would stop them, started again on the same port, and are
gone (processes and files) when their block ends, whatever happened inside.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.live import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


# Debian's layout, newest major version first: initdb and pg_ctl are not on PATH there.
def postgres_tool(name: str) -> str:
    if POSTGRES_BIN is None:
        raise RuntimeError("No PostgreSQL server binaries under /usr/lib/postgresql")
    return str(POSTGRES_BIN / name)


POSTGRES_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda bin_: float(bin_.parent.name), default=None)
READY_TIMEOUT_SECONDS = 20


def _wait_until(answers, what, timeout=READY_TIMEOUT_SECONDS):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answers():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not answer within {timeout} s")


class PrivateRedis:
    """``redis-server`` without persistence: a restart comes back empty, as production Redis without AOF/RDB does."""

    def __init__(self, port, directory):
        self.port = port
        self.directory = directory
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        import redis

        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                "--logfile",
                str(self.directory / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def answers():
            if self.process.poll() is not None:
                raise AssertionError(f"redis-server on port {self.port} exited:\n{self.log()}")
            with contextlib.suppress(redis.RedisError):
                return redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1).ping()
            return False

        _wait_until(answers, f"redis-server on port {self.port}")

    def kill(self):
        """Stop it as a crash would: no shutdown, nothing saved."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def log(self):
        path = self.directory / "redis.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


@contextlib.contextmanager
def private_redis():
    directory = Path(tempfile.mkdtemp(prefix="hfault-redis-"))
    server = PrivateRedis(free_port(), directory)
    try:
        server.start()
        yield server
    finally:
        server.kill()
        shutil.rmtree(directory, ignore_errors=True)


def _as_postgres_user(command):
    # initdb and the server refuse to run as root; in CI the tests are root.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


class PrivatePostgres:
    """A throwaway Postgres cluster with trust auth, listening on 127.0.0.1 only."""

    def __init__(self, port, directory):
        self.port = port
        self.directory = directory
        self.data = directory / "data"

    @property
    def url(self):
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args, timeout=60):
        # No durability needed: the cluster is thrown away, and fsync would only slow the tests.
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        result = subprocess.run(
            _as_postgres_user(
                [
                    postgres_tool("pg_ctl"),
                    "-D",
                    str(self.data),
                    "-o",
                    options,
                    "-l",
                    str(self.directory / "postgres.log"),
                    "-w",
                    "-t",
                    str(timeout),
                    *args,
                ]
            ),
            capture_output=True,
            text=True,
            timeout=timeout + 10,
        )
        if result.returncode != 0:
            raise AssertionError(f"pg_ctl {' '.join(args)} failed:\n{result.stdout}{result.stderr}\n{self.log()}")

    def init(self):
        result = subprocess.run(
            _as_postgres_user(
                [
                    postgres_tool("initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-sync",
                    "--no-instructions",
                ]
            ),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise AssertionError(f"initdb failed:\n{result.stdout}{result.stderr}")

    def start(self):
        self._pg_ctl("start")

    def stop(self, mode="fast"):
        """Stop it as an operator's restart does ("fast": open connections are cut at once)."""
        self._pg_ctl("stop", "-m", mode)

    def running(self):
        return (self.data / "postmaster.pid").exists()

    def log(self):
        path = self.directory / "postgres.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


@contextlib.contextmanager
def private_postgres():
    if POSTGRES_BIN is None:
        raise AssertionError("The Postgres fault tests need the server under /usr/lib/postgresql/<version>/bin.")
    directory = Path(tempfile.mkdtemp(prefix="hfault-pg-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    server = PrivatePostgres(free_port(), directory)
    try:
        server.init()
        server.start()
        yield server
    finally:
        if server.running():
            with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
                server.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)
