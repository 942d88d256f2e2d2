"""On two real daphne processes and a Celery worker: one scrape of GET /metrics sums them all (contract, 7)."""

import asyncio
import json
import os
import time

import pytest
import requests
import websockets
from prometheus_client.parser import text_string_to_metric_families

from tests.live import QUIET_JOBS, run_coroutine, running_console

pytestmark = pytest.mark.services
# The retention job every second: the worker's counts must reach the web's scrape.
JOBS = {**QUIET_JOBS, "OPSCONSOLE_RETENTION_INTERVAL": "1"}


@pytest.fixture(scope="module")
def console():
    with running_console("services", web_processes=2, extra_env=JOBS) as console:
        yield console


def scrape(console, url):
    answer = requests.get(f"{url}/metrics", headers={"Authorization": f"Token {console.token}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def sockets_open(console, url, endpoint):
    return value(scrape(console, url), "opsconsole_ws_sockets", endpoint=endpoint)


def eventually(read, expected, seconds=10):
    deadline = time.monotonic() + seconds
    while (seen := read()) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return seen


async def open_socket(console, url, path):
    socket = await websockets.connect(
        url.replace("http", "ws") + path, additional_headers={"Authorization": f"Token {console.token}"}
    )
    assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "connection"
    return socket


async def open_sockets(console, layout):
    """``layout``: (web process index, path, how many)."""
    return [
        await open_socket(console, console.urls[index], path) for index, path, count in layout for _ in range(count)
    ]


def test_the_socket_gauge_counts_the_sockets_open_on_both_web_processes(console):
    first, second = console.urls
    layout = [(0, "/ws/alerts", 3), (1, "/ws/alerts", 2), (1, "/ws/metrics", 1)]

    async def scenario():
        sockets = await open_sockets(console, layout)

        def both(url):
            return sockets_open(console, url, "/ws/alerts"), sockets_open(console, url, "/ws/metrics")

        seen = {url: await asyncio.to_thread(both, url) for url in console.urls}
        for socket in sockets[3:5]:  # the two alerts sockets of the second process
            await socket.close()
        seen["closed"] = await asyncio.to_thread(eventually, lambda: sockets_open(console, first, "/ws/alerts"), 3.0)
        for socket in sockets:
            await socket.close()
        return seen

    seen = run_coroutine(scenario())
    assert seen[first] == (5.0, 1.0)
    assert seen[second] == (5.0, 1.0)  # either process answers for both
    assert seen["closed"] == 3.0


def test_a_published_event_is_counted_once_and_delivered_to_every_socket(console):
    first, _ = console.urls
    before = scrape(console, first)

    def moved(name, **labels):
        return value(scrape(console, first), name, **labels) - value(before, name, **labels)

    async def scenario():
        sockets = await open_sockets(console, [(0, "/ws/alerts", 2), (1, "/ws/alerts", 2)])
        try:
            await asyncio.to_thread(console.publish, "alerts", "alert_summary", {"firing": 7})
            for socket in sockets:
                while json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] != "alert_summary":
                    pass
            # Each web process writes its delivery counts within half a second of counting them.
            delivered = await asyncio.to_thread(
                eventually, lambda: moved("opsconsole_ws_events_delivered_total", endpoint="/ws/alerts"), 4.0
            )
            return delivered, await asyncio.to_thread(scrape, console, first)
        finally:
            for socket in sockets:
                await socket.close()

    delivered, after = run_coroutine(scenario())

    def moved_by(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delivered == 4.0
    # The publishing shell has ended: its count stays in the sum.
    assert moved_by("opsconsole_events_published_total", topic="alerts", type="alert_summary") == 1
    assert moved_by("opsconsole_ws_delivery_latency_seconds_count", endpoint="/ws/alerts") == 4.0
    assert moved_by("opsconsole_ws_delivery_latency_seconds_bucket", endpoint="/ws/alerts", le="+Inf") == 4.0


def test_the_workers_job_runs_are_in_the_web_processes_scrape(console):
    first, _ = console.urls
    runs = eventually(
        lambda: value(scrape(console, first), "opsconsole_job_runs_total", periodic_job="retention") > 0, True, 30
    )
    assert runs, "no retention run of the Celery worker reached the scrape"
    samples = scrape(console, first)
    assert value(samples, "opsconsole_job_duration_seconds_count", periodic_job="retention") >= 1
    assert value(samples, "opsconsole_job_failures_total", periodic_job="retention") == 0


def test_a_killed_web_process_leaves_the_socket_gauge(console):
    first, _ = console.urls

    def gauge():
        return sockets_open(console, first, "/ws/metrics")

    async def scenario():
        sockets = await open_sockets(console, [(1, "/ws/metrics", 2)])
        try:
            opened = await asyncio.to_thread(eventually, gauge, 2.0)
            command = await asyncio.to_thread(console.stop_web, 1)  # SIGKILL: no chance to tidy up
            gone = await asyncio.to_thread(eventually, gauge, 0.0)
            return opened, gone, command
        finally:
            for socket in sockets:
                await socket.close()

    opened, gone, command = run_coroutine(scenario())
    console.start_web(1, command)
    assert (opened, gone) == (2.0, 0.0)


def test_metrics_without_a_token_is_refused_on_a_real_server(console):
    answer = requests.get(f"{console.url}/metrics", timeout=10)
    assert answer.status_code == 401
    assert answer.headers["Content-Type"].startswith("application/json")


def test_the_embedded_serve_starts_its_counts_afresh_and_counts_its_sockets(tmp_path):
    import subprocess
    import sys

    from tests.live import BASE_DIR

    # What an earlier run left in the directory: a thousand published events.
    directory = tmp_path / "prometheus"
    earlier = (
        "import django; django.setup(); from opsconsole import telemetry; "
        "telemetry.events_published.labels('alerts', 'alert').inc(1000)"
    )
    env = {"PROMETHEUS_MULTIPROC_DIR": str(directory), "DJANGO_SETTINGS_MODULE": "opsconsole.settings"}
    subprocess.run([sys.executable, "-c", earlier], cwd=BASE_DIR, env={**os.environ, **env}, check=True, timeout=60)
    assert list(directory.glob("counter_*.db"))
    with running_console("embedded", extra_env={**QUIET_JOBS, "PROMETHEUS_MULTIPROC_DIR": str(directory)}) as embedded:

        async def scenario():
            socket = await open_socket(embedded, embedded.url, "/ws/alerts")
            try:
                return await asyncio.to_thread(scrape, embedded, embedded.url)
            finally:
                await socket.close()

        samples = run_coroutine(scenario())
    assert value(samples, "opsconsole_ws_sockets", endpoint="/ws/alerts") == 1.0
    assert value(samples, "opsconsole_events_published_total", topic="alerts", type="alert") < 1000
