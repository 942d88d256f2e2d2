"""A restarted server: the page says so, reconnects, and catches up on what it missed."""

import pytest

from tests.browser.actions import log_in
from tests.live import running_console

pytestmark = pytest.mark.browser

RAISE = (
    "from alerts.services import raise_alert; "
    "print(raise_alert(source='outage', title='Raised while the web process was down', category='custom')[0].pk)"
)


@pytest.mark.parametrize("shape", ["embedded", "services"])
def test_killing_and_restarting_the_server_shows_reconnecting_then_catches_up(open_page, shape):
    # Services: the replay buffer in Redis outlives the web process, so the page
    # resumes. Embedded: the restarted process has forgotten the numbering, so
    # the page is told to resync and reloads the list over REST.
    with running_console(shape) as console:
        page, _ = open_page(console)
        log_in(page, console, "/alerts/")
        page.wait_for_function("() => document.documentElement.dataset.realtime === 'connected'", timeout=15_000)
        command = console.stop_web(0)
        page.wait_for_function(
            "() => ['reconnecting', 'polling'].includes(document.documentElement.dataset.realtime)", timeout=10_000
        )
        alert_id = int(console.manage("shell", "--no-imports", "-c", RAISE).strip().splitlines()[-1])
        console.start_web(0, command)
        page.wait_for_function("() => document.documentElement.dataset.realtime === 'connected'", timeout=40_000)
        page.wait_for_selector(f"#alert-{alert_id}", timeout=10_000)
