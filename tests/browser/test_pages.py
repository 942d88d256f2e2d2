"""Every page in a real browser, in both shapes: live updates, actions, escaping, reconnects."""

import time

import pytest

from tests.browser.actions import log_in, raise_alert, rest, save_screenshot
from tests.live import running_console

pytestmark = pytest.mark.browser

PAGES = [
    ("/", "dashboard", "#chart-cpu canvas"),
    ("/metrics/", "metrics", "#explorer-chart canvas"),
    ("/alerts/", "alerts", "#alert-table"),
    ("/incidents/", "incidents", "#incident-table"),
]


@pytest.fixture(scope="module", params=["embedded", "services"])
def console(request):
    fast = {
        "OPSCONSOLE_SUMMARY_INTERVAL": "1",
        "OPSCONSOLE_RULES_INTERVAL": "1",
        "OPSCONSOLE_METRICS_BROADCAST_INTERVAL": "1",
    }
    with running_console(request.param, extra_env=fast) as console:
        yield console


def test_every_page_renders_without_errors_or_foreign_requests(console, open_page):
    alert = raise_alert(console, "Disk almost full", category="disk")
    incident = rest(console, "POST", "/api/v1/incidents/", {"title": "Storage pressure", "alerts": [alert["id"]]})
    page, watch = open_page(console)
    log_in(page, console)
    for path, name, ready in [*PAGES, (f"/incidents/{incident['id']}/", "incident", "#timeline li")]:
        page.goto(f"{console.url}{path}")
        page.wait_for_selector(ready)
        page.wait_for_function("() => document.documentElement.dataset.realtime === 'connected'", timeout=15_000)
        save_screenshot(page, f"{name}-{console.shape}")
    assert watch.errors == []
    assert watch.foreign_requests == []


def test_an_alert_posted_over_rest_appears_within_two_seconds_as_text(console, open_page):
    page, watch = open_page(console)
    log_in(page, console, "/alerts/")
    page.wait_for_function("() => document.documentElement.dataset.realtime === 'connected'", timeout=15_000)
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
        }""",
        arg=acknowledged,
        timeout=10_000,
    )


def test_resolving_asks_for_a_resolution_and_records_it(console, open_page):
    page, _ = open_page(console)
    log_in(page, console, "/alerts/")
    alert = raise_alert(console, "Certificate expires soon")
    page.locator(f"#alert-{alert['id']} button[data-action=resolve]").click()
    page.fill("#resolution", "Renewed the certificate")
    page.click("#resolve-confirm")
    page.wait_for_selector(
        f"#alert-{alert['id']}", state="detached", timeout=5_000
    )  # resolved rows leave the default view
    assert rest(console, "GET", f"/api/v1/alerts/{alert['id']}/")["resolution"] == "Renewed the certificate"


def test_silence_similar_from_the_alert_centre_quiets_the_alert(console, open_page):
    page, watch = open_page(console)
    log_in(page, console, "/alerts/")
    page.wait_for_function("() => document.documentElement.dataset.realtime === 'connected'", timeout=15_000)
    alert = raise_alert(console, "Noisy during maintenance", labels={"host": "maint-1"})
    page.locator(f"#alert-{alert['id']} button[data-action=silence]").click()
    page.fill("#silence-comment", "planned maintenance")
    page.click("#silence-confirm")
    page.wait_for_selector("#flash .flash.ok", timeout=5_000)  # the silence is saved
    silences = rest(console, "GET", "/api/v1/silences/")["results"]
    assert any(silence["matchers"] == {"host": "maint-1"} for silence in silences)
    page.wait_for_function(f"() => window.opsconsoleAlerts.alerts.get({alert['id']}).silenced === true", timeout=20_000)
    assert watch.errors == []


def test_an_incident_opened_from_selected_alerts_follows_notes_and_status_live(console, open_page):
    first, second = raise_alert(console, "Checkout errors"), raise_alert(console, "Payment latency", severity="warning")
    page, watch = open_page(console)
    log_in(page, console, "/alerts/")
    for alert in (first, second):
        page.check(f"input[data-select='{alert['id']}']")
    page.click("#open-incident")
    page.fill("#incident-title", "Checkout degraded")
    page.click("#incident-dialog button[value=confirm]")
    page.wait_for_url(f"{console.url}/incidents/*/")
    incident_id = int(page.url.rstrip("/").rsplit("/", 1)[-1])
    assert page.locator("#incident-alerts li").count() == 2
    listing, _ = open_page(console)
    log_in(listing, console, "/incidents/")
    listing.wait_for_function("() => document.documentElement.dataset.realtime === 'connected'", timeout=15_000)
    page.wait_for_function("() => document.documentElement.dataset.realtime === 'connected'", timeout=15_000)

    page.fill("#note", "Rolled back <script>release 42</script>")
    page.click("#note-form button[type=submit]")
    page.locator("#timeline li", has_text="Rolled back <script>release 42</script>").wait_for(timeout=5_000)
    rest(console, "POST", f"/api/v1/incidents/{incident_id}/notes/", {"text": "Vendor confirms the outage"})
    page.locator("#timeline li", has_text="Vendor confirms the outage").wait_for(timeout=5_000)  # live, no reload
    page.click("#status-buttons button[data-status=investigating]")
    page.wait_for_selector("#incident-status.investigating", timeout=5_000)
    listing.wait_for_selector(f"#incident-{incident_id} .status.investigating", timeout=5_000)
    assert watch.errors == []


def test_the_metrics_explorer_draws_a_series_per_host_and_extends_them_live(console, open_page):
    now = time.time()
    points = [
        {"name": "e2e_latency_ms", "value": value, "timestamp": now - age, "tags": {"host": host}}
        for host, value in (("e2e-a", 10.0), ("e2e-b", 20.0))
        for age in (120, 60)
    ]
    rest(console, "POST", "/api/v1/metrics/ingest/", {"points": points})
    page, watch = open_page(console)
    log_in(page, console, "/metrics/")
    page.wait_for_function("() => document.documentElement.dataset.realtime === 'connected'", timeout=15_000)
    page.click("#ranges button[data-minutes='15']")
    page.select_option("#metric-name", "e2e_latency_ms")
    page.wait_for_function("() => window.opsconsoleExplorer.shown.length === 2", timeout=5_000)
    assert (
        page.evaluate("echarts.getInstanceByDom(document.getElementById('explorer-chart')).getOption().dataZoom.length")
        == 2
    )
    rest(
        console,
        "POST",
        "/api/v1/metrics/ingest/",
        {"points": [{"name": "e2e_latency_ms", "value": 30.0, "tags": {"host": "e2e-a"}}]},
    )
    page.wait_for_function(
        "() => window.opsconsoleExplorer.shown.find((series) => series.tags.host === 'e2e-a').points.at(-1)[1] === 30",
        timeout=10_000,
    )
    assert watch.errors == []


def test_choosing_simplified_chinese_translates_the_pages_and_their_live_parts(console, open_page):
    raise_alert(console, "Translated buttons")
    page, watch = open_page(console)
    log_in(page, console, "/alerts/")
    page.wait_for_function("() => document.documentElement.dataset.realtime === 'connected'", timeout=15_000)
    with page.expect_navigation():
        page.select_option("form.language select", "zh-hans")
    page.wait_for_function("() => document.documentElement.dataset.realtime === 'connected'", timeout=15_000)
    assert page.locator("h1").inner_text() == "告警中心"  # server-rendered
    assert page.locator("#realtime-status").inner_text() == "实时"  # from the JavaScript catalog
    assert page.locator("button[data-action=acknowledge]").first.inner_text() == "确认"
    assert watch.errors == []


def test_the_dark_theme_toggle_redraws_the_charts_and_is_remembered(console, open_page):
    page, watch = open_page(console)
    log_in(page, console)
    page.wait_for_selector("#chart-cpu canvas")
    page.click("#theme-toggle")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    page.wait_for_selector("#chart-cpu canvas")
    page.reload()
    page.wait_for_selector("#chart-memory canvas")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert watch.errors == []
