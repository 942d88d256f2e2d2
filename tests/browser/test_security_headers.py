"""Every page under the console's security headers: nothing refused by the CSP, live data still flowing."""

import re

import pytest

from tests.browser.actions import log_in, raise_alert, rest, save_screenshot
from tests.live import running_console

pytestmark = pytest.mark.browser

# Added before any page script runs: a refused script, style, image or socket
# fires securitypolicyviolation at the document, whether or not the page
# catches the failure itself.
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.cspViolations.push(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"} at ${where}`);
}, true);
"""
CONNECTED = "() => document.documentElement.dataset.realtime === 'connected'"


# One shape: the headers come from the same middleware in both, and the
# WebSocket's origin is the page's own in both.
@pytest.fixture(scope="module")
def console():
    fast = {"OPSCONSOLE_SUMMARY_INTERVAL": "1", "OPSCONSOLE_METRICS_BROADCAST_INTERVAL": "1"}
    with running_console("embedded", extra_env=fast) as console:
        yield console


class Visit:
    """A page whose CSP violations and refusals are collected page by page."""

    def __init__(self, page):
        self.page = page
        self.refusals = []
        page.on("console", lambda message: self._console(message.text))
        page.add_init_script(RECORD_VIOLATIONS)

    def _console(self, text):
        # Chromium's words: "Refused to load ..." or "... violates the following Content Security Policy ...".
        if "Refused to" in text or "Content Security Policy" in text:
            self.refusals.append(f"{self.page.url}: {text}")

    def goto(self, url):
        response = self.page.goto(url)
        assert response is not None and response.ok, url
        return response

    def violations(self):
        """What the page at hand refused so far, as `directive blocked what at where`."""
        return [f"{self.page.url}: {line}" for line in self.page.evaluate("window.cspViolations")]


def assert_security_headers(response):
    headers = response.all_headers()
    policy = dict((directive.split(" ", 1) + [""])[:2] for directive in headers["content-security-policy"].split("; "))
    assert policy["script-src"] == "'self'", policy
    assert "'unsafe-inline'" not in policy["style-src"]
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-content-type-options"] == "nosniff"
    assert "camera=()" in headers["permissions-policy"] and "geolocation=()" in headers["permissions-policy"]


@pytest.fixture
def visit(open_page, console):
    page, watch = open_page(console)
    visit = Visit(page)
    yield visit
    assert visit.refusals == []
    assert watch.foreign_requests == []


def test_the_login_page_carries_the_headers_and_refuses_nothing(console, visit):
    assert_security_headers(visit.goto(f"{console.url}/login/"))
    visit.page.wait_for_selector("#id_username")
    save_screenshot(visit.page, "csp-login")
    assert visit.violations() == []


def test_the_console_pages_run_under_the_csp_with_live_data(console, visit):
    page = visit.page
    incident = rest(console, "POST", "/api/v1/incidents/", {"title": "Storage pressure under CSP"})
    log_in(page, console)

    assert_security_headers(visit.goto(f"{console.url}/"))
    page.wait_for_function(CONNECTED, timeout=15_000)  # the WebSocket passed connect-src
    page.wait_for_function(
        "() => window.opsconsoleDashboard.charts.get('cpu_percent').points.length > 0", timeout=15_000
    )
    assert re.fullmatch(r"width: \d+(\.\d+)?%;", page.locator("[data-bar=cpu_percent]").get_attribute("style"))
    alert = raise_alert(console, "Live under the CSP")
    page.locator("#event-log li", has_text="Live under the CSP").wait_for(timeout=5_000)
    page.hover("#chart-cpu canvas")  # the tooltip: HTML styled from script
    page.wait_for_function("() => document.getElementById('chart-cpu').innerText.includes('%')", timeout=5_000)
    page.click("#theme-toggle")  # the dark theme redraws every chart
    page.wait_for_selector("#chart-cpu canvas")
    save_screenshot(page, "csp-dashboard")
    assert visit.violations() == []

    assert_security_headers(visit.goto(f"{console.url}/metrics/"))
    page.wait_for_function(CONNECTED, timeout=15_000)
    page.wait_for_function(
        "() => window.opsconsoleExplorer.shown.some((series) => series.points.length > 0)", timeout=15_000
    )
    save_screenshot(page, "csp-metrics")
    assert visit.violations() == []

    assert_security_headers(visit.goto(f"{console.url}/alerts/"))
    page.wait_for_function(CONNECTED, timeout=15_000)
    page.wait_for_selector(f"#alert-{alert['id']}")
    later = raise_alert(console, "Arrives over the socket")
    page.wait_for_selector(f"#alert-{later['id']}", timeout=5_000)
    save_screenshot(page, "csp-alerts")
    assert visit.violations() == []

    assert_security_headers(visit.goto(f"{console.url}/incidents/"))
    page.wait_for_function(CONNECTED, timeout=15_000)
    page.wait_for_selector(f"#incident-{incident['id']}")
    save_screenshot(page, "csp-incidents")
    assert visit.violations() == []

    assert_security_headers(visit.goto(f"{console.url}/incidents/{incident['id']}/"))
    page.wait_for_function(CONNECTED, timeout=15_000)
    rest(console, "POST", f"/api/v1/incidents/{incident['id']}/notes/", {"text": "Noted under the CSP"})
    page.locator("#timeline li", has_text="Noted under the CSP").wait_for(timeout=5_000)
    save_screenshot(page, "csp-incident")
    assert visit.violations() == []


def test_the_api_docs_render_the_schema_under_the_csp(console, visit):
    page = visit.page
    log_in(page, console)
    assert_security_headers(visit.goto(f"{console.url}/api/v1/docs/"))
    page.locator(".opblock-summary", has_text="/api/v1/alerts/").first.click()
    page.wait_for_selector(".opblock.is-open .parameters-container, .opblock.is-open .opblock-body", timeout=15_000)
    save_screenshot(page, "csp-api-docs")
    assert visit.violations() == []


def test_every_admin_page_linked_from_the_index_runs_under_the_csp(console, visit):
    page = visit.page
    raise_alert(console, "Seen in the admin")
    log_in(page, console)
    assert_security_headers(visit.goto(f"{console.url}/admin/"))
    links = page.eval_on_selector_all("#content-main a[href]", "(links) => links.map((link) => link.href)")
    changelists = sorted({link for link in links if not link.endswith("/add/")})
    adds = sorted({link for link in links if link.endswith("/add/")})
    assert len(changelists) >= 10, changelists  # auth's and ours
    change_forms = []
    for url in changelists:
        assert_security_headers(visit.goto(url))
        first_row = page.locator("#result_list tbody th a").first
        if first_row.count():
            change_forms.append(first_row.get_attribute("href"))
        assert visit.violations() == []
    assert change_forms, "no object to open in the admin"
    for url in [*adds, *(f"{console.url}{href}" for href in change_forms)]:
        assert_security_headers(visit.goto(url))
        assert visit.violations() == []
    visit.goto(f"{console.url}/admin/alerts/silence/add/")
    page.click(".datetimeshortcuts a:has-text('Today')")  # the admin's own scripts at work
    save_screenshot(page, "csp-admin-silence-add")
    assert visit.violations() == []


def test_an_inline_handler_injected_into_a_page_is_refused_and_seen(console, open_page):
    page, _ = open_page(console)
    visit = Visit(page)
    visit.goto(f"{console.url}/login/")
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=/static/favicon.svg onload=window.ran=1>')")
    page.wait_for_function("() => window.cspViolations.length > 0")
    assert page.evaluate("window.ran") is None
    assert "script-src-attr" in visit.violations()[0]
    page.wait_for_timeout(500)  # the console message comes after the event
    assert any("violates the following Content Security Policy" in refusal for refusal in visit.refusals)
