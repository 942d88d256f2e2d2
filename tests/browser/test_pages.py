"""Every page in a real browser, in both shapes: live updates, actions, escaping, reconnects."""

import json
import time
import urllib.request

import pytest

from tests.browser.conftest import log_in, save_screenshot
from tests.live import running_console

pytestmark = pytest.mark.browser

PAGES = [("/", "dashboard", "#chart-cpu canvas"), ("/metrics/", "metrics", "#explorer-chart canvas"),
         ("/alerts/", "alerts", "#alert-table"), ("/incidents/", "incidents", "#incident-table")]


@pytest.fixture(scope="module", params=["embedded", "services"])
def console(request):
    with running_console(request.param, extra_env={"OPSCONSOLE_SUMMARY_INTERVAL": "1", "OPSCONSOLE_RULES_INTERVAL": "1"}) as console:
        yield console


def rest(console, method, path, body=None):
    request = urllib.request.Request(
        f"{console.url}{path}", data=None if body is None else json.dumps(body).encode(), method=method,
        headers={"Authorization": f"Token {console.token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def raise_alert(console, title, **fields):
    body = {"source": "e2e", "category": "cpu", "severity": "critical", "title": title, "labels": {"run": str(time.time())}}
    return rest(console, "POST", "/api/v1/alerts/", {**body, **fields})


def test_every_page_renders_without_errors_or_foreign_requests(console, open_page):
    alert = raise_alert(console, "Disk almost full", category="disk")
    incident = rest(console, "POST", "/api/v1/incidents/", {"title": "Storage pressure", "alerts": [alert["id"]]})
    page, watch = open_page(console)
    log_in(page, console)
    for path, name, ready in [*PAGES, (f"/incidents/{incident['id']}/", "incident", "#timeline li")]:
        page.goto(f"{console.url}{path}")
        page.wait_for_selector(ready)
        page.wait_for_function("document.documentElement.dataset.realtime === 'connected'", timeout=15_000)
        save_screenshot(page, f"{name}-{console.shape}")
    assert watch.errors == []
    assert watch.foreign_requests == []


def test_an_alert_posted_over_rest_appears_within_two_seconds_as_text(console, open_page):
    page, watch = open_page(console)
    log_in(page, console, "/alerts/")
    page.wait_for_function("document.documentElement.dataset.realtime === 'connected'", timeout=15_000)
    title = "<img src=x onerror=window.pwned=1> payments <b>down</b>"
    started = time.monotonic()
    alert = raise_alert(console, title)
    row = page.locator(f"#alert-{alert['id']}")
    row.wait_for(timeout=2_000)
    assert time.monotonic() - started < 2.0
    assert row.locator("td.title strong").inner_text() == title
    assert page.evaluate("window.pwned") is None
    assert row.locator("img").count() == 0
    assert watch.errors == []


def test_acknowledging_from_the_page_changes_the_row_and_the_dashboard_pie(console, open_page):
    dashboard, _ = open_page(console)
    log_in(dashboard, console)
    dashboard.wait_for_selector("#chart-alerts canvas")
    alerts_page, _ = open_page(console)
    log_in(alerts_page, console, "/alerts/")
    alert = raise_alert(console, "Queue backlog growing")
    alerts_page.locator(f"#alert-{alert['id']} button[data-action=acknowledge]").click()
    alerts_page.wait_for_selector(f"#alert-{alert['id']}[data-status=acknowledged]", timeout=5_000)
    assert alerts_page.locator(f"#alert-{alert['id']} .status").inner_text() == "acknowledged"
    acknowledged = rest(console, "GET", "/api/v1/stats/")["alerts"]["by_status"]["acknowledged"]
    dashboard.wait_for_function(
        """(expected) => {
            const chart = echarts.getInstanceByDom(document.getElementById('chart-alerts'));
            return chart.getOption().series[0].data[1].value === expected;
        }""", arg=acknowledged, timeout=10_000,
    )


def test_resolving_asks_for_a_resolution_and_records_it(console, open_page):
    page, _ = open_page(console)
    log_in(page, console, "/alerts/")
    alert = raise_alert(console, "Certificate expires soon")
    page.locator(f"#alert-{alert['id']} button[data-action=resolve]").click()
    page.fill("#resolution", "Renewed the certificate")
    page.click("#resolve-confirm")
    page.wait_for_selector(f"#alert-{alert['id']}", state="detached", timeout=5_000)  # resolved rows leave the default view
    assert rest(console, "GET", f"/api/v1/alerts/{alert['id']}/")["resolution"] == "Renewed the certificate"


def test_silence_similar_from_the_alert_centre_quiets_the_alert(console, open_page):
    page, watch = open_page(console)
    log_in(page, console, "/alerts/")
    page.wait_for_function("document.documentElement.dataset.realtime === 'connected'", timeout=15_000)
    alert = raise_alert(console, "Noisy during maintenance", labels={"host": "maint-1"})
    page.locator(f"#alert-{alert['id']} button[data-action=silence]").click()
    page.fill("#silence-comment", "planned maintenance")
    page.click("#silence-confirm")
    page.wait_for_selector("#flash .flash.ok", timeout=5_000)  # the silence is saved
    silences = rest(console, "GET", "/api/v1/silences/")["results"]
    assert any(silence["matchers"] == {"host": "maint-1"} for silence in silences)
    page.wait_for_function(f"window.opsconsoleAlerts.alerts.get({alert['id']}).silenced === true", timeout=20_000)
    assert watch.errors == []
