"""Evidence on the incident page in a real browser (contract, section 9), in both shapes:
the capture reads through each database's query path, and retention rolls up on each.
"""

import time
import urllib.request

import pytest

from tests.browser.actions import log_in, raise_alert, rest, save_screenshot
from tests.live import running_console

pytestmark = pytest.mark.browser

CONNECTED = "() => document.documentElement.dataset.realtime === 'connected'"
POINTS = 30
# Retention as it would run two weeks from now: every raw point stored so far is rolled up and deleted.
RETENTION_LATER = (
    "from datetime import timedelta; from django.utils import timezone; "
    "from metrics.retention import apply_retention; from metrics.models import Sample; "
    "removed = apply_retention(now=timezone.now() + timedelta(days=14)); "
    "print(removed, Sample.objects.count())"
)
CHART_DATA = """(id) => {
    const chart = window.opsconsoleIncident?.evidenceCharts.get(id)?.instance;
    const series = chart?.getOption()?.series || [];
    return series.map((item) => ({ name: item.name, values: item.data.map((point) => point[1]) }));
}"""


@pytest.fixture(scope="module", params=["embedded", "services"])
def console(request):
    with running_console(request.param, extra_env={"OPSCONSOLE_SUMMARY_INTERVAL": "1"}) as console:
        yield console


def disk_incident(console):
    """An incident whose alert is about a host's disk, which reported POINTS points ten seconds apart."""
    host = f"web-{time.time_ns()}"
    now = time.time()
    values = [60.0 + (n * 7) % 13 for n in range(POINTS)]
    points = [
        {"name": "disk_used_percent", "value": value, "tags": {"host": host}, "timestamp": now - 300 + n * 10}
        for n, value in enumerate(values)
    ]
    rest(console, "POST", "/api/v1/metrics/ingest/", {"points": points})
    alert = raise_alert(console, "Disk filling | fast", labels={"host": host})
    incident = rest(console, "POST", "/api/v1/incidents/", {"title": "Disk # full", "alerts": [alert["id"]]})
    return incident, host, values


def test_evidence_still_draws_after_retention_and_the_report_holds_it(console, open_page):
    incident, host, values = disk_incident(console)
    page, watch = open_page(console)
    log_in(page, console, f"/incidents/{incident['id']}/")
    page.wait_for_function(CONNECTED, timeout=15_000)
    page.select_option("#evidence-window", "15")
    page.click("#capture-evidence")
    place = page.locator("#timeline .evidence[data-evidence]")
    place.locator("canvas").first.wait_for(timeout=10_000)
    evidence_id = int(place.get_attribute("data-evidence"))
    drawn = page.evaluate(CHART_DATA, evidence_id)
    assert drawn == [{"name": f"disk_used_percent host={host}", "values": values}]

    removed, left = console.manage("shell", "-c", RETENTION_LATER).split()[-2:]
    assert int(removed) >= POINTS and int(left) == 0
    page.reload()
    page.locator(f"#evidence-{evidence_id} canvas").first.wait_for(timeout=10_000)
    assert page.evaluate(CHART_DATA, evidence_id) == drawn  # ten-second points; retention left minute rollups
    assert f"disk_used_percent host={host}" in page.locator(f"#evidence-{evidence_id}").inner_text()

    href = page.get_attribute("#export-report", "href")
    assert href == f"/api/v1/incidents/{incident['id']}/report.md"
    report = page.evaluate("(url) => fetch(url).then((answer) => answer.text())", href)
    assert report.startswith(f"# Incident #{incident['id']}: Disk \\# full\n")
    assert "| opened |" in report and "| alert attached |" in report and "| evidence captured |" in report
    assert "| Disk filling \\| fast | firing | critical |" in report
    assert f"| disk\\_used\\_percent host={host} |" in report
    assert f"| {min(values):.4g} |" in report and f"({POINTS}) |" in report
    assert watch.errors == []


def test_evidence_arrives_live_on_another_open_incident_page(console, open_page):
    incident, _, values = disk_incident(console)
    page, watch = open_page(console)
    log_in(page, console, f"/incidents/{incident['id']}/")
    page.wait_for_function(CONNECTED, timeout=15_000)
    captured = rest(console, "POST", f"/api/v1/incidents/{incident['id']}/evidence/", {"minutes": 15})
    page.locator(f"#evidence-{captured['id']} canvas").first.wait_for(timeout=10_000)
    assert page.evaluate(CHART_DATA, captured["id"])[0]["values"] == values
    assert watch.errors == []


def test_the_export_link_downloads_the_markdown_file(console, open_page):
    incident, _, _ = disk_incident(console)
    page, _ = open_page(console)
    log_in(page, console, f"/incidents/{incident['id']}/")
    with page.expect_download() as download:
        page.click("#export-report")
    assert download.value.suggested_filename == f"incident-{incident['id']}.md"
    request = urllib.request.Request(
        f"{console.url}/api/v1/incidents/{incident['id']}/report.md",
        headers={"Authorization": f"Token {console.token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.headers["Content-Type"] == "text/markdown; charset=utf-8"


def test_the_incident_page_with_evidence_fits_390_px_and_both_themes(console, browser):
    incident, _, _ = disk_incident(console)
    rest(console, "POST", f"/api/v1/incidents/{incident['id']}/evidence/", {"minutes": 15})
    rest(console, "POST", f"/api/v1/incidents/{incident['id']}/notes/", {"text": "Rotated the logs on the host."})
    for width in (1440, 390):
        for theme in ("light", "dark"):
            context = browser.new_context(viewport={"width": width, "height": 1100})
            context.add_init_script(f"localStorage.setItem('opsconsole-theme', '{theme}')")
            try:
                page = context.new_page()
                log_in(page, console, f"/incidents/{incident['id']}/")
                page.locator("#timeline .evidence canvas").first.wait_for(timeout=10_000)
                assert page.evaluate("document.documentElement.dataset.theme") == theme
                assert page.evaluate("document.documentElement.scrollWidth") <= width, (width, theme)
                save_screenshot(page, f"incident-evidence-{console.shape}-{width}-{theme}")
            finally:
                context.close()
