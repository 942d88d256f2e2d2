"""The dashboard's host picker, all hosts at once, polling without the metrics socket, and the first steps.

One console for the module, in test order: the first test sees a fresh
install and sends its first metric and alert with the commands the page shows.
"""

import subprocess
import time
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.actions import log_in, raise_alert, rest, save_screenshot
from tests.live import running_console

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent.parent
PHONE = {"width": 390, "height": 844}
# A /ws/metrics that cannot connect (a path the server refuses: the CSP allows only its own origin);
# lifted by window.unblockMetrics().
BLOCK_METRICS_SOCKET = """
(() => {
  const Real = window.WebSocket;
  let blocked = true;
  window.unblockMetrics = () => { blocked = false; };
  window.WebSocket = class extends Real {
    constructor(url, protocols) {
      super(blocked && url.endsWith("/ws/metrics") ? url.replace("/ws/metrics", "/ws/blocked") : url, protocols);
    }
  };
})();
"""


@pytest.fixture(scope="module")
def console():
    with running_console("embedded") as console:
        yield console


@pytest.fixture
def new_page(browser):
    contexts = []

    def new(console, viewport=None, dark=False, language="en"):
        context = browser.new_context(
            viewport=viewport or {"width": 1440, "height": 900}, color_scheme="dark" if dark else "light"
        )
        context.add_cookies([{"name": "django_language", "value": language, "url": console.url}])
        contexts.append(context)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page, errors

    yield new
    for context in contexts:
        context.close()


def fits_the_phone(page):
    """No horizontal scroll at 390 px, once the charts have followed the resize (they redraw on its event)."""
    try:
        page.wait_for_function(f"() => document.documentElement.scrollWidth <= {PHONE['width']}", timeout=5_000)
    except PlaywrightTimeout:
        return False
    return True


def ingest(console, host, value, name="cpu_percent", **fields):
    point = {"name": name, "value": value, "tags": {"host": host}, **fields}
    rest(console, "POST", "/api/v1/metrics/ingest/", {"points": [point]})


def test_a_fresh_install_shows_commands_that_send_a_first_metric_and_alert(console, new_page):
    page, errors = new_page(console)
    log_in(page, console)
    commands = "\n".join(page.locator(f"#command-{name}").inner_text() for name in ("token", "metric", "alert"))
    assert f"{console.url}/api/v1/metrics/ingest/" in commands
    assert f"{console.url}/api/v1/alerts/" in commands
    assert "manage.py create_api_token admin" in commands
    save_screenshot(page, "dashboard-first-steps-1440")
    page.set_viewport_size(PHONE)
    assert fits_the_phone(page)
    save_screenshot(page, "dashboard-first-steps-390")

    # The commands as a user pastes them, in a checkout with the console's settings.
    run = subprocess.run(
        ["bash", "-eu", "-o", "pipefail", "-c", commands],
        cwd=REPO,
        env=console.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert '"accepted":1' in run.stdout.replace(" ", "")
    assert any(alert["title"] == "My first alert" for alert in rest(console, "GET", "/api/v1/alerts/")["results"])
    page.reload()
    assert page.locator("#first-steps").count() == 0
    assert "web-1" in page.locator("#host-picker option").all_inner_texts()
    assert errors == []


def test_the_picked_host_is_in_the_url_and_survives_a_reload(console, new_page):
    ingest(console, "web-2", 12.5)
    page, errors = new_page(console)
    log_in(page, console)
    page.wait_for_selector("#chart-cpu canvas")
    with page.expect_navigation():
        page.select_option("#host-picker", "web-2")
    assert page.url.endswith("/?host=web-2")
    page.reload()
    assert page.locator("#host-picker").input_value() == "web-2"
    assert page.locator("#dashboard-host").inner_text() == "web-2"
    page.wait_for_function("() => window.opsconsoleDashboard.charts.get('cpu_percent').points.length === 1")
    # A later point of that host arrives with the next `metrics` push (every 10 s) and joins its chart.
    time.sleep(1.1)
    ingest(console, "web-2", 37.5)
    page.wait_for_function(
        "() => document.querySelector('[data-field=cpu_percent]').textContent === '37.5'", timeout=25_000
    )
    assert page.evaluate("window.opsconsoleDashboard.charts.get('cpu_percent').points.length") >= 2
    page.set_viewport_size(PHONE)
    assert fits_the_phone(page)
    assert errors == []


def test_all_hosts_draw_one_small_chart_per_host(console, new_page):
    ingest(console, "web-2", 20.0, timestamp=time.time() - 120)  # a bucket of its own in the half-hour history
    page, errors = new_page(console)
    log_in(page, console, "/?host=all")
    page.wait_for_selector(".chart[data-host='web-2'] canvas")
    hosts = page.locator(".chart[data-host]").evaluate_all("elements => elements.map((e) => e.dataset.host)")
    assert {"web-1", "web-2"} <= set(hosts)
    points = page.evaluate("window.opsconsoleDashboard.charts.get('host:web-2').points.cpu_percent.length")
    assert points >= 2
    assert page.locator("#card-cpu").count() == 0
    save_screenshot(page, "dashboard-all-hosts-1440")
    page.set_viewport_size(PHONE)
    assert fits_the_phone(page)
    save_screenshot(page, "dashboard-all-hosts-390")
    assert errors == []


def test_without_the_metrics_socket_the_dashboard_polls_and_says_so(console, new_page):
    page, errors = new_page(console)
    page.add_init_script(BLOCK_METRICS_SOCKET)
    log_in(page, console)
    page.wait_for_selector("#live-paused:not([hidden])", timeout=20_000)
    before = page.evaluate("window.opsconsoleDashboard.charts.get('cpu_percent').points.length")
    # The collector stores a point every 5 s; the poll brings it at the same pace.
    page.wait_for_function(
        f"() => window.opsconsoleDashboard.charts.get('cpu_percent').points.length >= {before + 2}", timeout=20_000
    )
    assert page.locator("#realtime-status").count() == 1
    page.set_viewport_size(PHONE)
    assert fits_the_phone(page)
    save_screenshot(page, "dashboard-polling-390")
    page.evaluate("window.unblockMetrics()")
    page.wait_for_selector("#live-paused", state="hidden", timeout=45_000)
    assert page.evaluate("window.opsconsoleDashboard.streams[0].status") == "connected"
    assert errors == []


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_screenshots_of_the_dashboard_in_both_themes(console, new_page, dark):
    theme = "dark" if dark else "light"
    for width in (1440, 390):
        page, errors = new_page(console, viewport={"width": width, "height": 900}, dark=dark)
        log_in(page, console)
        page.wait_for_selector("#chart-cpu canvas")
        assert fits_the_phone(page) or width > PHONE["width"]
        save_screenshot(page, f"dashboard-{theme}-{width}")
        page.goto(f"{console.url}/?host=all")
        page.wait_for_selector(".chart[data-host] canvas")
        assert fits_the_phone(page) or width > PHONE["width"]
        save_screenshot(page, f"dashboard-all-{theme}-{width}")
        assert errors == []


def test_the_dashboard_in_chinese_fits_the_phone(console, new_page):
    page, errors = new_page(console, viewport=PHONE, language="zh-hans")
    log_in(page, console)
    page.wait_for_selector("#chart-cpu canvas")
    assert fits_the_phone(page)
    save_screenshot(page, "dashboard-zh-hans-390")
    page.goto(f"{console.url}/?host=all")
    assert fits_the_phone(page)
    save_screenshot(page, "dashboard-all-zh-hans-390")
    assert errors == []


def choose_custom_range(page, start, end):
    page.fill("#custom-range input[name=from]", start)
    page.fill("#custom-range input[name=to]", end)
    page.click("#custom-range button[type=submit]")


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_a_custom_range_on_the_explorer_is_checked_and_kept_in_the_url(console, new_page, dark):
    page, errors = new_page(console, dark=dark)
    log_in(page, console, "/metrics/")
    page.wait_for_function("() => window.opsconsoleExplorer")  # the module's handlers are on
    choose_custom_range(page, "2026-12-04T12:00", "2026-12-04T11:00")
    assert page.locator("#custom-range-error").inner_text() == "The start must be before the end."
    assert "from=" not in page.url
    choose_custom_range(page, "2026-12-04T10:00", "2026-12-04T11:30")
    assert page.locator("#custom-range-error").is_hidden()
    assert "from=" in page.url and "to=" in page.url
    page.reload()
    assert page.locator("#custom-range input[name=from]").input_value() == "2026-12-04T10:00"
    assert page.locator("#custom-range input[name=to]").input_value() == "2026-12-04T11:30"
    span = page.evaluate("window.opsconsoleExplorer.range")
    assert span["to"] - span["from"] == 90 * 60_000
    assert page.locator("#ranges button[aria-pressed=true]").count() == 0
    theme = "dark" if dark else "light"
    save_screenshot(page, f"explorer-custom-range-{theme}-1440")
    page.set_viewport_size(PHONE)
    assert fits_the_phone(page)
    save_screenshot(page, f"explorer-custom-range-{theme}-390")
    page.click("#ranges button[data-minutes='1440']")
    assert "minutes=1440" in page.url and "from=" not in page.url
    assert errors == []


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_the_alert_page_has_presets_and_a_custom_range_kept_in_the_url(console, new_page, dark):
    alert = raise_alert(console, "Range test", labels={"host": "web-2"})
    page, errors = new_page(console, dark=dark)
    log_in(page, console, f"/alerts/{alert['id']}/")
    page.wait_for_function("() => window.opsconsoleAlert")  # the module's handlers are on
    assert page.locator("#ranges button[data-minutes=''][aria-pressed=true]").count() == 1
    page.click("#ranges button[data-minutes='360']")
    assert "minutes=360" in page.url
    choose_custom_range(page, "2026-12-04T10:00", "")
    assert page.locator("#custom-range-error").inner_text() == "Give both a start and an end time."
    choose_custom_range(page, "2026-12-04T09:00", "2026-12-04T10:00")
    page.reload()
    assert page.locator("#custom-range input[name=from]").input_value() == "2026-12-04T09:00"
    span = page.evaluate("window.opsconsoleAlert.range")
    assert span["to"] - span["from"] == 60 * 60_000
    theme = "dark" if dark else "light"
    save_screenshot(page, f"alert-custom-range-{theme}-1440")
    page.set_viewport_size(PHONE)
    assert fits_the_phone(page)
    save_screenshot(page, f"alert-custom-range-{theme}-390")
    assert errors == []
