"""The pages for on-call work in a real browser (contract, section 9): the alert page,
silences, the tab's attention, deep links, and every page at 390 px."""

import time

import pytest

from tests.browser.actions import log_in, raise_alert, rest
from tests.live import running_console

pytestmark = pytest.mark.browser

CONNECTED = "() => document.documentElement.dataset.realtime === 'connected'"


@pytest.fixture(scope="module")
def console():
    # These pages behave alike in both shapes (tests/browser/test_pages.py covers the
    # shared live path in each); one embedded console keeps the run short.
    fast = {"OPSCONSOLE_SUMMARY_INTERVAL": "1"}
    with running_console("embedded", extra_env=fast) as console:
        yield console


def unique(prefix):
    return f"{prefix}-{time.time_ns()}"


def test_the_alert_page_acknowledges_with_a_comment_that_shows_on_its_timeline(console, open_page):
    alert = raise_alert(console, "Replication lag on db-2")
    page, watch = open_page(console)
    log_in(page, console, f"/alerts/{alert['id']}/")
    page.wait_for_function(CONNECTED, timeout=15_000)
    assert page.locator("#alert-status").inner_text() == "firing"
    page.click("#action-acknowledge")
    page.fill("#acknowledge-comment", "failing over to db-3")
    page.click("#acknowledge-confirm")
    entry = page.locator("#alert-timeline li:has([data-kind='alert.acknowledged'])")
    entry.wait_for(timeout=5_000)
    assert "failing over to db-3" in entry.inner_text()
    assert page.locator("#alert-status").inner_text() == "acknowledged"
    assert page.locator("#action-acknowledge").is_disabled()
    assert rest(console, "GET", f"/api/v1/alerts/{alert['id']}/")["status"] == "acknowledged"
    assert watch.errors == []


def test_the_alert_page_follows_a_resolution_made_elsewhere(console, open_page):
    alert = raise_alert(console, "Queue stuck")
    page, watch = open_page(console)
    log_in(page, console, f"/alerts/{alert['id']}/")
    page.wait_for_function(CONNECTED, timeout=15_000)
    first = page.locator("#firing-for").inner_text()
    page.wait_for_function(f"() => document.getElementById('firing-for').textContent !== {first!r}", timeout=5_000)
    rest(console, "POST", f"/api/v1/alerts/{alert['id']}/resolve/", {"resolution": "drained by hand"})
    page.wait_for_function("() => document.documentElement.dataset.alertStatus === 'resolved'", timeout=5_000)
    page.locator("#alert-timeline [data-kind='alert.resolved']").wait_for(timeout=5_000)
    assert "drained by hand" in page.locator("#alert-resolved").inner_text()
    stopped = page.locator("#firing-for").inner_text()
    page.wait_for_timeout(2_100)
    assert page.locator("#firing-for").inner_text() == stopped  # "firing for" ends at the resolution
    assert watch.errors == []


def test_the_alert_page_charts_the_matching_series_with_the_firing_marked(console, open_page):
    host = unique("chart")
    now = time.time()
    points = [
        {"name": "disk_used_percent", "value": 80 + i, "tags": {"host": host}, "timestamp": now - 600 + i * 60}
        for i in range(10)
    ]
    rest(console, "POST", "/api/v1/metrics/ingest/", {"points": points})
    alert = raise_alert(console, "Disk filling", labels={"host": host, "alertname": "DiskFull"}, threshold=85, value=89)
    page, watch = open_page(console)
    log_in(page, console, f"/alerts/{alert['id']}/")
    page.wait_for_function("() => window.opsconsoleAlert?.chart.getOption()?.series?.length === 1", timeout=10_000)
    option = page.evaluate(
        """(startsAt) => {
        const series = window.opsconsoleAlert.chart.getOption().series[0];
        const marks = series.markLine.data.map((mark) => [mark.name, mark.xAxis ?? mark.yAxis]);
        return { name: series.name, points: series.data.length, marks, firedAt: Date.parse(startsAt) };
    }""",
        alert["starts_at"],
    )
    assert option["name"] == f"disk_used_percent host={host}"
    assert option["points"] == 10
    assert option["marks"] == [["fired", option["firedAt"]], ["threshold", 85]]
    assert watch.errors == []


def test_alert_centre_rows_link_to_the_alert_page(console, open_page):
    alert = raise_alert(console, "Linked from the centre")
    page, _ = open_page(console)
    log_in(page, console, "/alerts/")
    page.locator(f"#alert-{alert['id']} a.alert-link").click()
    page.wait_for_url(f"**/alerts/{alert['id']}/")
    assert page.locator("#alert-title").inner_text() == "Linked from the centre"


def test_a_silence_is_created_with_a_live_preview_and_expired_early(console, open_page):
    team = unique("payments")
    first = raise_alert(console, "Payments 5xx", labels={"team": team, "host": "p-1"})
    page, watch = open_page(console)
    log_in(page, console, "/silences/")
    page.wait_for_function(CONNECTED, timeout=15_000)
    page.fill("#silence-matchers", f"team={team}")
    page.locator(f"#silence-preview [data-alert='{first['id']}']").wait_for(timeout=5_000)
    assert page.locator("#preview-count").get_attribute("data-count") == "1"
    second = raise_alert(console, "Payments latency", labels={"team": team, "host": "p-2"})
    page.locator(f"#silence-preview [data-alert='{second['id']}']").wait_for(timeout=5_000)  # live
    page.select_option("#silence-duration", "240")
    page.fill("#silence-comment", "provider incident")
    page.click("#silence-create")
    page.wait_for_selector("#flash .flash.ok", timeout=5_000)
    created = next(s for s in rest(console, "GET", "/api/v1/silences/")["results"] if s["matchers"] == {"team": team})
    row = page.locator(f"#silences-active #silence-{created['id']}")
    row.wait_for(timeout=5_000)
    assert "provider incident" in row.inner_text()
    row.locator("button[data-expire]").click()
    page.locator(f"#silences-ended #silence-{created['id']}").wait_for(timeout=5_000)
    assert rest(console, "GET", f"/api/v1/silences/{created['id']}/")["ends_at"] <= time.strftime(
        "%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 1)
    )
    assert watch.errors == []


def test_silence_similar_on_the_alert_page_prefills_the_silence_form(console, open_page):
    alert = raise_alert(console, "Similar ones", labels={"host": "sim-1", "job": "node"})
    page, _ = open_page(console)
    log_in(page, console, f"/alerts/{alert['id']}/")
    page.click("#action-silence")
    page.wait_for_url("**/silences/?*")
    assert page.input_value("#silence-matchers").splitlines() == ["host=sim-1", "job=node"]
    page.locator(f"#silence-preview [data-alert='{alert['id']}']").wait_for(timeout=5_000)


def test_a_recurring_silence_is_created_from_the_form(console, open_page):
    page, watch = open_page(console)
    log_in(page, console, "/silences/")
    host = unique("batch")
    page.fill("#silence-matchers", f"host={host}")
    page.click("#silence-recurring summary")
    page.check("#silence-recurring input[value='0']")
    page.check("#silence-recurring input[value='2']")
    page.fill("#silence-repeat-start", "02:00")
    page.fill("#silence-repeat-minutes", "90")
    page.fill("#silence-timezone", "Europe/Amsterdam")
    page.select_option("#silence-duration", "10080")
    page.fill("#silence-comment", "nightly batch")
    page.click("#silence-create")
    page.wait_for_selector("#flash .flash.ok", timeout=5_000)
    created = next(s for s in rest(console, "GET", "/api/v1/silences/")["results"] if s["matchers"] == {"host": host})
    assert (created["repeat_days"], created["repeat_start"], created["repeat_duration"], created["timezone"]) == (
        [0, 2],
        "02:00:00",
        5400,
        "Europe/Amsterdam",
    )
    assert watch.errors == []


def test_the_title_and_favicon_count_rise_with_a_new_critical_alert(console, open_page):
    page, watch = open_page(console)
    log_in(page, console, "/metrics/")  # a page that follows no alerts of its own
    page.wait_for_function("() => document.documentElement.dataset.firing !== undefined", timeout=10_000)
    before = int(page.evaluate("document.documentElement.dataset.firing"))
    raise_alert(console, "Payments down", severity="critical")
    page.wait_for_function(f"() => document.title.startsWith('({before + 1}) ')", timeout=5_000)
    page.wait_for_function(
        "() => document.querySelector('link[rel=icon]').href.startsWith('data:image/png')", timeout=5_000
    )
    assert watch.errors == []


def test_a_new_critical_alert_raises_a_desktop_notification_and_a_sound_when_opted_in(console, browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        context.grant_permissions(["notifications"], origin=console.url)
        page = context.new_page()
        log_in(page, console, "/alerts/")
        page.wait_for_function(CONNECTED, timeout=15_000)
        page.click("details.attention-menu summary")
        page.check("#notify-desktop")
        page.check("#notify-sound")  # a click: the browser lets the page play sound from now on
        sounds = page.evaluate("window.opsconsoleAttention.sounds")
        warning = raise_alert(console, "Only a warning", severity="warning")
        critical = raise_alert(console, "Checkout failing", severity="critical")
        page.wait_for_function(
            f"() => window.opsconsoleAttention.notifications.includes({critical['id']})", timeout=5_000
        )
        assert warning["id"] not in page.evaluate("window.opsconsoleAttention.notifications")
        assert page.evaluate("window.opsconsoleAttention.sounds") == sounds + 1
        page.reload()  # remembered by this browser
        assert page.is_checked("#notify-desktop") and page.is_checked("#notify-sound")
    finally:
        context.close()


def test_a_pasted_url_with_filters_shows_the_filtered_alert_list(console, open_page):
    word = unique("pasted")
    wanted = raise_alert(console, f"{word} wanted", severity="warning")
    raise_alert(console, f"{word} other severity", severity="critical")
    raise_alert(console, "unrelated warning", severity="warning")
    page, _ = open_page(console)
    log_in(page, console, f"/alerts/?severity=warning&search={word}")
    page.wait_for_selector(f"#alert-{wanted['id']}")
    assert page.locator("#alert-table tbody tr").count() == 1
    assert page.input_value("select[name=severity]") == "warning" and page.input_value("input[name=search]") == word
    page.select_option("select[name=status]", "firing")  # and a change goes back into the URL
    assert "status=firing" in page.url and f"search={word}" in page.url


def test_the_explorer_and_incident_list_keep_their_choices_in_the_url(console, open_page):
    host = unique("deep")
    rest(
        console, "POST", "/api/v1/metrics/ingest/", {"points": [{"name": "load1", "value": 1, "tags": {"host": host}}]}
    )
    incident = rest(console, "POST", "/api/v1/incidents/", {"title": f"{host} incident"})
    page, _ = open_page(console)
    log_in(page, console, f"/metrics/?name=load1&host={host}&minutes=1440")
    page.wait_for_function("() => window.opsconsoleExplorer?.shown.length === 1", timeout=10_000)
    assert page.input_value("#metric-host") == host
    assert page.locator("#ranges [aria-pressed=true]").inner_text() == "24 h"
    page.goto(f"{console.url}/incidents/?search={host}")
    page.wait_for_selector(f"#incident-{incident['id']}")
    assert page.locator("#incident-table tbody tr").count() == 1


def test_favicon_ico_is_served(console):
    import urllib.request

    with urllib.request.urlopen(f"{console.url}/favicon.ico", timeout=10) as answer:
        assert answer.status == 200 and answer.headers["Content-Type"].startswith("image/svg")


PHONE_PAGES = ["/", "/metrics/", "/alerts/", "/alert/", "/incidents/", "/incident/", "/silences/"]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("path", PHONE_PAGES)
def test_every_page_fits_390_px_with_the_nav_on_whole_words(console, browser, path, language):
    alert = raise_alert(
        console, "A rather long alert title that has to wrap by word on a phone screen", labels={"host": "phone-1"}
    )
    incident = rest(console, "POST", "/api/v1/incidents/", {"title": "Phone-sized incident", "alerts": [alert["id"]]})
    path = {"/alert/": f"/alerts/{alert['id']}/", "/incident/": f"/incidents/{incident['id']}/"}.get(path, path)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        # The cookie the language menu sets (Django's set_language).
        context.add_cookies([{"name": "django_language", "value": language, "url": console.url}])
        page = context.new_page()
        log_in(page, console, path)
        page.wait_for_function(CONNECTED, timeout=15_000)
        assert page.evaluate("document.documentElement.lang") == language
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # Each nav link on one line: a second line of text would make it over twice its font size tall.
        tall = page.evaluate(
            """() => [...document.querySelectorAll('.nav a')]
                .filter((a) => a.getBoundingClientRect().height > parseFloat(getComputedStyle(a).fontSize) * 2 + 10)
                .map((a) => a.textContent)"""
        )
        assert tall == []
        for button in page.locator("main button:visible").all():
            box = button.bounding_box()
            assert box is None or box["x"] + box["width"] <= 390, button.inner_text()
    finally:
        context.close()


def test_an_incidents_severity_and_commander_are_edited_with_from_and_to_on_its_timeline(console, open_page):
    incident = rest(console, "POST", "/api/v1/incidents/", {"title": "Checkout errors", "severity": "warning"})
    page, watch = open_page(console)
    log_in(page, console, f"/incidents/{incident['id']}/")
    page.wait_for_function(CONNECTED, timeout=15_000)
    page.select_option("#incident-severity", "critical")
    page.locator("#timeline .entry-change", has_text="severity: warning → critical").wait_for(timeout=5_000)
    page.select_option("#incident-commander", "admin")
    page.locator("#timeline .entry-change", has_text="commander: — → admin").wait_for(timeout=5_000)
    page.click("#status-buttons button[data-status=investigating]")
    page.locator("#timeline .entry-change", has_text="status: open → investigating").wait_for(timeout=5_000)
    stored = rest(console, "GET", f"/api/v1/incidents/{incident['id']}/")
    assert (stored["severity"], stored["commander"]) == ("critical", "admin")
    assert watch.errors == []


def test_keyboard_shortcuts_move_acknowledge_and_resolve_on_the_alert_centre(console, open_page):
    word = unique("keys")
    first = raise_alert(console, f"{word} first", severity="critical")
    page, watch = open_page(console)
    log_in(page, console, f"/alerts/?search={word}")
    page.wait_for_selector(f"#alert-{first['id']}")
    page.keyboard.press("j")
    assert page.locator("#alert-table tr.focused").get_attribute("id") == f"alert-{first['id']}"
    page.keyboard.press("a")
    page.wait_for_selector(f"#alert-{first['id']}[data-status=acknowledged]", timeout=5_000)
    page.keyboard.press("r")
    page.fill("#resolution", "fixed from the keyboard")
    page.click("#resolve-confirm")
    page.wait_for_selector(f"#alert-{first['id']}", state="detached", timeout=5_000)
    assert rest(console, "GET", f"/api/v1/alerts/{first['id']}/")["resolution"] == "fixed from the keyboard"
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.name") == "search"
    page.keyboard.press("Escape")
    page.keyboard.press("?")
    assert page.locator("#keys-dialog").is_visible()
    assert watch.errors == []


def test_the_alert_centre_groups_by_a_label_with_counts_and_collapses_a_group(console, open_page):
    word = unique("grouped")
    for number, team in enumerate(("web", "db", "db")):  # newest first: the db group leads
        raise_alert(console, f"{word} {team}", labels={"team": team, "run": word, "host": f"h{number}"})
    page, watch = open_page(console)
    log_in(page, console, f"/alerts/?search={word}&group=team")
    page.wait_for_selector("tr.group-row[data-group='team=db']")
    assert page.locator("tr.group-row button").all_inner_texts() == ["▾ team=db · 2", "▾ team=web · 1"]
    assert page.locator("#alert-table tr[id^='alert-']").count() == 3
    page.click("tr.group-row[data-group='team=db'] button")
    assert page.locator("#alert-table tr[id^='alert-']").count() == 1
    assert page.locator("tr.group-row[data-group='team=db'] button").get_attribute("aria-expanded") == "false"
    assert watch.errors == []
