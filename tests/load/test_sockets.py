"""Issue 8: 2,000 sockets connecting at once to one daphne process are all served.

How long that takes is a speed figure, printed here and by ``bench/load.py``
next to its goal (10 s), not asserted: timed tests fail on a busy host for
reasons that are not the console's.

All 2,000 go to the first of the console's two processes, and the alert is
raised through the second: the push crosses Redis as it does in production.

"Served" means each gets its ``connection`` frame and then an event pushed
after all of them are in. The clients live in two child processes (1,000
sockets each): one Python process spends most of the 10 s on its own
handshakes and would measure itself rather than the server.
"""

import contextlib

import pytest

from tests.load.swarm import load_average, raise_alert, swarms

SOCKETS = 2000
CLIENT_PROCESSES = 2
# Start-up, up to 180 s of connecting when the server is slow, and the push.
pytestmark = pytest.mark.timeout(420)


@pytest.fixture(scope="module")
def connected(console):
    """2,000 sockets on the first daphne process, and what connecting them took."""
    with contextlib.ExitStack() as stack:
        started = swarms(stack, [console.urls[0]], console.token, SOCKETS, CLIENT_PROCESSES)
        reports = [swarm.connected(timeout=180) for swarm in started]
        print(
            f"\n{SOCKETS} sockets: {sum(report['connected'] for report in reports)} connected, the last after "
            f"{max(report['seconds'] for report in reports):.1f} s; {load_average()}"
        )
        yield started, reports


def test_2000_sockets_all_get_their_connection_frame(connected):
    _, reports = connected
    assert [error for report in reports for error in report["errors"]] == []
    assert sum(report["connected"] for report in reports) == SOCKETS


def test_an_alert_raised_after_2000_sockets_connected_reaches_every_one_of_them(console, connected):
    started, _ = connected
    alert = raise_alert(console.urls[1], console.token, "load-2000-sockets")
    delivered = [swarm.expect([(alert["id"], "firing")], timeout=30) for swarm in started]
    print(f"\nalert pushed to {sum(d['sockets_complete'] for d in delivered)} of {SOCKETS} sockets; {load_average()}")
    assert sum(report["sockets_complete"] for report in delivered) == SOCKETS
