"""The push agent against a live console, including an outage while it buffers."""

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time

from metrics.agent import CPU_SAMPLE_SECONDS, snapshot
from tests.live import BASE_DIR, running_console

COUNT_POINTS = (
    "from metrics.models import Sample, Series; "
    "ids = [s.pk for s in Series.objects.all() if s.tags.get('run') == {run!r}]; "
    "print(Sample.objects.filter(series_id__in=ids).count(), len(ids))"
)


def start_agent(console, run, interval="0.5"):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "metrics.agent",
            "--url",
            console.url,
            "--token",
            console.token,
            "--interval",
            interval,
            "--tag",
            f"run={run}",
            "--host",
            "agent-test",
        ],
        cwd=BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop_agent(agent):
    agent.send_signal(signal.SIGTERM)
    out, err = agent.communicate(timeout=30)
    return json.loads(out.strip().splitlines()[-1]), err


def stored(console, run):
    points, series = (
        console.manage("shell", "--no-imports", "-c", COUNT_POINTS.format(run=run)).strip().splitlines()[-1].split()
    )
    return int(points), int(series)


def test_the_agent_imports_no_django():
    code = "import sys, metrics.agent; assert not [m for m in sys.modules if m.startswith('django')]"
    assert subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR).returncode == 0


def test_the_agent_buffers_through_an_outage_and_delivers_every_point_once():
    run = secrets.token_hex(4)
    with running_console("embedded", extra_env={"OPSCONSOLE_COLLECT_INTERVAL": "3600"}) as console:
        agent = start_agent(console, run)
        time.sleep(2)
        command = console.stop_web(0)
        time.sleep(3)  # the agent keeps measuring into its buffer
        console.start_web(0, command)
        time.sleep(2)
        stats, log = stop_agent(agent)
        assert "unreachable" in log  # it noticed the outage
        assert stats["collected"] > 0 and stats["buffered"] == 0
        assert stats["delivered"] == stats["collected"] and stats["rejected"] == 0
        points, series = stored(console, run)
        assert points == stats["collected"]
        assert series == 9


def test_bad_arguments_are_clear_errors():
    result = subprocess.run(
        [sys.executable, "-m", "metrics.agent", "--url", "http://x", "--token", "t", "--tag", "novalue"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "--tag 'novalue' is not key=value" in result.stderr


def test_a_refused_token_stops_the_agent_saying_so_after_its_start_line(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("oc_wrong_token\n")
    with running_console("embedded", extra_env={"OPSCONSOLE_COLLECT_INTERVAL": "3600"}) as console:
        result = subprocess.run(
            [sys.executable, "-m", "metrics.agent", "--url", console.url, "--token-file", str(token_file)],
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            timeout=60,  # not retried forever
        )
    assert result.returncode == 3
    start, *rest = result.stderr.splitlines()
    assert f"to {console.url}/api/v1/metrics/ingest/" in start
    assert any("refused the API token (HTTP 401" in line for line in rest)


def test_the_token_comes_from_the_environment():
    result = subprocess.run(
        [sys.executable, "-m", "metrics.agent", "--url", "http://x", "--interval", "0"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        env={**os.environ, "OPSCONSOLE_TOKEN": "oc_from_env"},
    )
    # It got past the token check to the next argument's.
    assert result.returncode == 2 and "--interval must be positive" in result.stderr
    without = subprocess.run(
        [sys.executable, "-m", "metrics.agent", "--url", "http://x"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        env={key: value for key, value in os.environ.items() if key != "OPSCONSOLE_TOKEN"},
    )
    assert without.returncode == 2 and "OPSCONSOLE_TOKEN" in without.stderr


def test_the_first_cpu_point_is_a_real_reading():
    stop = threading.Event()

    def burn():
        while not stop.is_set():
            sum(range(1000))

    worker = threading.Thread(target=burn)
    worker.start()
    try:
        started = time.monotonic()
        points = snapshot({"host": "h"}, first=True)
    finally:
        stop.set()
        worker.join()
    cpu = next(point for point in points if point["name"] == "cpu_percent")
    assert time.monotonic() - started >= CPU_SAMPLE_SECONDS
    assert cpu["value"] > 0
