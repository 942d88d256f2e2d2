"""A restarted server: the page says so, reconnects, and catches up on what it missed."""

import pytest

from tests.browser.actions import log_in
from tests.live import QUIET_JOBS, running_console

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


# An event sent but lost on its way to this page's socket: numbered and
# counted as sent (as when a PUBLISH reached Redis and not the process), then
# the next event arrives one seq too far ahead.
LOSE_ONE_THEN_RAISE = """
from django.db.models import F
from alerts.services import raise_alert
from realtime import relay
from realtime.models import StreamCursor
hook = relay.relay_after_commit
relay.relay_after_commit = lambda topic: None
lost = raise_alert(source='gap', title='Lost on the way', category='custom')[0].pk
relay.relay_after_commit = hook
relay._number('alerts')
StreamCursor.objects.filter(topic='alerts').update(published_seq=F('last_seq'))
after = raise_alert(source='gap', title='After the gap', category='custom')[0].pk
print(lost, after)
"""


def test_a_gap_in_the_seqs_makes_the_page_resume_and_show_the_lost_alert(open_page):
    # Services: the shell's events reach the page through Redis. No summaries
    # (QUIET_JOBS), so it is the gap itself, not an at_seq, that the page acts on.
    with running_console("services", extra_env=QUIET_JOBS) as console:
        page, _ = open_page(console)
        log_in(page, console, "/alerts/")
        page.wait_for_function("() => document.documentElement.dataset.realtime === 'connected'", timeout=15_000)
        output = console.manage("shell", "--no-imports", "-c", LOSE_ONE_THEN_RAISE).strip().splitlines()[-1]
        lost, after = (int(number) for number in output.split())
        page.wait_for_selector(f"#alert-{after}", timeout=10_000)
        page.wait_for_selector(f"#alert-{lost}", timeout=10_000)
