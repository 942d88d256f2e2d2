"""The alert centre follows what the server knows: deletions, resyncs that replace, the flapping badge."""

import pytest

from tests.browser.actions import log_in, raise_alert, rest
from tests.live import running_console

pytestmark = pytest.mark.browser

# Functions, not expressions: the page's CSP (no unsafe-eval) refuses Playwright's eval of a string.
CONNECTED = "() => document.documentElement.dataset.realtime === 'connected'"


@pytest.fixture(scope="module")
def console():
    with running_console("embedded") as console:
        yield console


def open_alert_centre(open_page, console):
    page, watch = open_page(console)
    log_in(page, console, "/alerts/")
    page.wait_for_function(CONNECTED, timeout=15_000)
    page.evaluate("window.__notReloaded = true")
    return page, watch


def test_a_deleted_alert_disappears_from_the_alert_centre_without_reload(console, open_page):
    alert = raise_alert(console, "Deleted while watched")
    page, watch = open_alert_centre(open_page, console)
    page.wait_for_selector(f"#alert-{alert['id']}")
    rest(console, "DELETE", f"/api/v1/alerts/{alert['id']}/")
    page.wait_for_selector(f"#alert-{alert['id']}", state="detached", timeout=10_000)
    assert page.evaluate("window.__notReloaded") is True
    assert watch.errors == []


def test_a_resync_replaces_the_list_so_a_row_gone_while_offline_is_gone(console, open_page):
    kept = raise_alert(console, "Still there after the outage")
    gone = raise_alert(console, "Gone during the outage")
    page, _ = open_alert_centre(open_page, console)
    page.wait_for_selector(f"#alert-{gone['id']}")
    frames = []
    page.on("websocket", lambda socket: socket.on("framereceived", lambda payload: frames.append(payload)))
    command = console.stop_web(0)
    page.wait_for_function(
        "() => ['reconnecting', 'polling'].includes(document.documentElement.dataset.realtime)", timeout=10_000
    )
    # Removed behind the services' back: no event and no log line tell of it,
    # so only a list replaced by the server's can drop the row. And the page
    # last heard from the server over a day ago: the event log cannot answer
    # its resume, and the server asks it to resync.
    page.evaluate("window.opsconsoleAlerts.stream.lastSeq = (Date.now() - 25 * 3600 * 1000) * 1000")
    console.manage(
        "shell",
        "--no-imports",
        "-c",
        f"from alerts.models import Alert; Alert.objects.filter(pk={gone['id']}).delete()",
    )
    console.start_web(0, command)
    page.wait_for_function(CONNECTED, timeout=40_000)
    page.wait_for_selector(f"#alert-{gone['id']}", state="detached", timeout=10_000)
    assert any('"resync_required"' in str(frame) for frame in frames)
    assert page.locator(f"#alert-{kept['id']}").count() == 1
    assert page.evaluate("window.__notReloaded") is True


def test_a_flapping_alert_shows_a_badge_in_the_alert_centre(console, open_page):
    page, watch = open_alert_centre(open_page, console)
    body = {"source": "db-1", "title": "Replication lag", "fingerprint": "browser-flapping"}
    for _cycle in range(2):
        alert = rest(console, "POST", "/api/v1/alerts/", body)
        rest(console, "POST", f"/api/v1/alerts/{alert['id']}/resolve/", {})
    alert = rest(console, "POST", "/api/v1/alerts/", body)  # the fifth change
    assert alert["flapping"] is True
    page.wait_for_selector(f"#alert-{alert['id']} .badge.flapping", timeout=10_000)
    assert watch.errors == []


def test_a_fallback_poll_replaces_the_list_so_a_row_gone_meanwhile_is_gone(console, open_page):
    kept = raise_alert(console, "Still there while polling")
    gone = raise_alert(console, "Gone while polling")
    page, _ = open_alert_centre(open_page, console)
    page.wait_for_selector(f"#alert-{gone['id']}")
    # From now on every socket is refused at once, so the page falls back to polling REST.
    page.context.route_web_socket("**/ws/alerts", lambda route: route.close())
    console.manage(
        "shell",
        "--no-imports",
        "-c",
        f"from alerts.models import Alert; Alert.objects.filter(pk={gone['id']}).delete()",
    )
    page.evaluate("window.opsconsoleAlerts.stream.socket.close()")
    page.wait_for_function("() => document.documentElement.dataset.realtime === 'polling'", timeout=20_000)
    page.wait_for_selector(f"#alert-{gone['id']}", state="detached", timeout=10_000)
    assert page.locator(f"#alert-{kept['id']}").count() == 1
    assert page.evaluate("window.__notReloaded") is True
