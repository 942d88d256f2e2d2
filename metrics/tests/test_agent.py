"""The push agent against a live console, including an outage while it buffers."""

import json
import secrets
import signal
import subprocess
import sys
import time

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
