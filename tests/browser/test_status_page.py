"""/status/ and the dashboard's traffic view in a real browser; a stopped worker goes missing."""

import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.browser.actions import log_in, rest
from tests.live import running_console

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("OPSCONSOLE_SHOTS_DIR", "/tmp/shots-status"))


@pytest.fixture(scope="module")
def console():
    with running_console("embedded") as console:
        yield console


@pytest.fixture(scope="module")
def second_host(console):
    push_traffic(console, "router-2")


def push_traffic(console, host):
    """Ten minutes of a host's byte counters every 10 s, the send counter restarting half-way."""
    # Ending before the dashboard's last whole 30-second step, so every point is in the view.
    base = datetime.fromtimestamp(datetime.now(UTC).timestamp() // 30 * 30, tz=UTC)
    points = []
    for i in range(60):
        at = (base - timedelta(seconds=600 - 10 * i)).isoformat()
        sent = 50_000 * (i if i < 30 else i - 30)  # 5,000 B/s, reset at i=30
        points.append({"name": "network_bytes_sent", "value": sent, "tags": {"host": host}, "timestamp": at})
        points.append({"name": "network_bytes_recv", "value": 200_000 * i, "tags": {"host": host}, "timestamp": at})
    rest(console, "POST", "/api/v1/metrics/ingest/", {"points": points})


def test_the_status_page_shows_reports_and_config_changes_as_they_happen(console, open_page):
    page, watch = open_page(console)
    log_in(page, console, "/status/")
    page.wait_for_function("() => document.documentElement.dataset.realtime === 'connected'", timeout=15_000)
    rest(
        console,
        "POST",
        "/api/v1/components/clipboard_monitor/status/",
        {"status": "degraded", "details": {"failed_adds": 2}, "expect_every": 60},
    )
    row = page.locator('tr[data-component="clipboard_monitor"]')
    row.locator('.status-badge[data-status="degraded"]').wait_for(timeout=10_000)
    assert "failed_adds: 2" in row.locator(".details").inner_text()
    first_age = row.locator("time.report-age").inner_text()
    time.sleep(2.2)
    assert row.locator("time.report-age").inner_text() != first_age, "the report's age ticks"

    ends = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    rest(console, "POST", "/api/v1/silences/", {"matchers": {"team": "db"}, "ends_at": ends, "comment": "maint"})
    page.locator("#system-log li.log-config").first.wait_for(timeout=10_000)
    assert "silence" in page.locator("#system-log li.log-config").first.inner_text()
    assert page.locator("#system-log li.log-system").count() >= 1, "the web process's start is listed"
    assert watch.errors == []


def test_a_component_past_its_due_time_shows_missing(console, open_page):
    page, _ = open_page(console)
    rest(
        console, "POST", "/api/v1/components/short_lived/status/", {"status": "running", "expect_every": 1, "grace": 0}
    )
    log_in(page, console, "/status/")
    page.locator('tr[data-component="short_lived"] .status-badge[data-missed="true"]').wait_for(timeout=10_000)


def test_the_dashboard_draws_each_hosts_traffic_and_its_totals(console, open_page):
    push_traffic(console, "router-1")
    page, watch = open_page(console)
    log_in(page, console)
    page.wait_for_selector("#chart-traffic canvas")
    sent = page.locator('#traffic-rows tr[data-host="router-1"][data-direction="sent"]')
    recv = page.locator('#traffic-rows tr[data-host="router-1"][data-direction="recv"]')
    sent.wait_for(timeout=10_000)
    # 59 rises of 50,000 B, the reset counting its new value (0): 2,900,000 B; 5,000 B/s at most.
    assert sent.locator('[data-field="total"]').inner_text() == "2.8 MB"
    assert sent.locator('[data-field="peak"]').inner_text() == "4.9 KB/s"
    assert recv.locator('[data-field="total"]').inner_text() == "11.3 MB"
    assert (
        page.evaluate("echarts.getInstanceByDom(document.getElementById('chart-traffic')).getOption().series.length")
        >= 2
    )
    assert watch.errors == []


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("width", [1440, 390])
def test_screenshots(console, second_host, browser, theme, width):
    context = browser.new_context(viewport={"width": width, "height": 900 if width > 400 else 844})
    context.add_init_script(f"localStorage.setItem('opsconsole-theme', '{theme}')")
    page = context.new_page()
    try:
        log_in(page, console, "/status/")
        page.wait_for_selector("#component-rows tr")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"status-{width}-{theme}.png"), full_page=True)
        page.goto(f"{console.url}/")
        page.wait_for_selector('#traffic-rows tr[data-host="router-2"]')
        page.screenshot(path=str(SHOTS / f"dashboard-{width}-{theme}.png"), full_page=True)
        # The sticky top bar would cover the card's top in a picture of the card alone (CSSOM: the CSP allows it).
        page.evaluate("document.querySelector('.topbar').style.position = 'static'")
        page.locator(".traffic-card").screenshot(path=str(SHOTS / f"traffic-{width}-{theme}.png"))
        assert page.evaluate("document.documentElement.scrollWidth") <= width, "no sideways scrolling"
    finally:
        context.close()


def test_stopping_the_celery_worker_shows_it_missing(open_page):
    with running_console("services") as services:
        page, _ = open_page(services)
        log_in(page, services, "/status/")
        worker = page.locator('tr[data-component="worker"]')
        worker.locator('.status-badge[data-missed="false"]').wait_for(timeout=30_000)
        process = services.workers[0]
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
        # Due 10 s after its last report, plus 20 s grace; the web process checks every 5 s.
        worker.locator('.status-badge[data-missed="true"]').wait_for(timeout=60_000)
        assert page.locator('tr[data-component="beat"] .status-badge[data-missed="false"]').count() == 1
        page.reload()
        worker.locator('.status-badge[data-missed="true"]').wait_for(timeout=10_000)
