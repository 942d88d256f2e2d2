"""A page on another port of the same host cannot ride a staff cookie onto the live streams (contract, 11).

The measured hole: a Chromium page served from another port read a staff
user's live alert stream, because the Origin check ignored scheme and port.
Cookies are scoped to the host, not the port, so the browser does send the
session cookie; only the handshake's exact-origin check stands in the way.
"""

import http.server
import threading

import pytest

from tests.browser.actions import log_in, save_screenshot
from tests.live import free_port, running_console

# What an attacker's page runs: open the console's alert stream with the
# visitor's cookie and report what came back.
PROBE = """<!doctype html><title>probe</title><pre id=out>waiting</pre><script>
const out = document.getElementById("out");
const socket = new WebSocket(new URLSearchParams(location.search).get("target"));
socket.onmessage = (event) => { out.textContent = "message: " + event.data.slice(0, 60); };
socket.onclose = (event) => { if (out.textContent === "waiting") out.textContent = "closed " + event.code; };
</script>"""


@pytest.fixture(scope="module")
def console():
    with running_console("embedded") as console:
        yield console


@pytest.fixture(scope="module")
def foreign_site():
    class Probe(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = PROBE.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Probe)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def probe_result(page, site, console):
    target = console.url.replace("http", "ws") + "/ws/alerts"
    page.goto(f"{site}/?target={target}")
    page.wait_for_function("document.getElementById('out').textContent !== 'waiting'", timeout=15000)
    return page.inner_text("#out")


def test_a_page_on_another_port_is_refused_at_the_handshake(open_page, console, foreign_site):
    page, _ = open_page(console)
    log_in(page, console)
    page.wait_for_url(f"{console.url}/")
    cookies = {cookie["name"] for cookie in page.context.cookies(console.url)}
    assert "sessionid" in cookies, "the test needs a signed-in browser"
    result = probe_result(page, foreign_site, console)
    save_screenshot(page, "foreign-origin-refused")
    assert result.startswith("closed "), result  # never a message: the handshake itself failed


def test_the_same_probe_from_the_consoles_own_origin_gets_the_stream(open_page, console):
    # The control: the probe works when its origin is the console's, so the refusal above is the origin check.
    page, _ = open_page(console)
    log_in(page, console)
    page.wait_for_url(f"{console.url}/")
    target = console.url.replace("http", "ws") + "/ws/alerts"
    page.evaluate(
        """(target) => new Promise((resolve) => {
            const socket = new WebSocket(target);
            socket.onmessage = (event) => { window.firstFrame = event.data; socket.close(); resolve(); };
        })""",
        target,
    )
    assert '"type":"connection"' in page.evaluate("window.firstFrame").replace(" ", "")
