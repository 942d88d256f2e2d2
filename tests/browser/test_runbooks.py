"""Runbook pages and incident checklists in a real browser, in both shapes."""

import time
from pathlib import Path

import pytest

from tests.browser.actions import log_in, rest
from tests.browser.conftest import PageWatch
from tests.live import running_console

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/shots-runbooks")
HOSTILE = """# Disk full on a database

Check the volume **before** anything else.

1. Look at `df -h /var/lib/postgresql`
2. Rotate the logs: see [the log guide](https://wiki.example.com/logs)
3. Tell the channel

```sh
journalctl --vacuum-size=1G
```

<script>window.ran = "script"</script>
<img src=x onerror="window.ran = 'onerror'">
[a trap](javascript:window.ran='javascript')
<a href="javascript:window.ran='raw link'">raw link</a>
"""
STEPS = "1. Stop the writers\n2. Fail over to the replica\n3. Point the pool at it\n"


@pytest.fixture(scope="module", params=["embedded", "services"])
def console(request):
    with running_console(request.param) as console:
        yield console


def connected(page):
    page.wait_for_function("() => document.documentElement.dataset.realtime === 'connected'", timeout=15_000)


def test_markdown_renders_and_nothing_hostile_reaches_the_page_or_runs(console, open_page):
    runbook = rest(console, "POST", "/api/v1/runbooks/", {"title": "Disk full", "body": HOSTILE, "matchers": {}})
    page, watch = open_page(console)
    log_in(page, console, f"/runbooks/{runbook['id']}/")
    body = page.locator("#runbook-body")
    body.wait_for()
    assert body.locator("h1").inner_text() == "Disk full on a database"
    assert body.locator("ol > li").count() == 3
    assert body.locator("ol > li code").first.inner_text() == "df -h /var/lib/postgresql"
    assert body.locator("pre code").inner_text().strip() == "journalctl --vacuum-size=1G"
    link = body.locator("a", has_text="the log guide")
    assert link.get_attribute("href") == "https://wiki.example.com/logs"
    assert link.get_attribute("rel") == "noopener noreferrer"
    # Nothing executable: no script element, handler attribute or javascript: URL in the body.
    dangerous = body.evaluate(
        """(root) => [...root.querySelectorAll('*')].filter((node) =>
            node.tagName === 'SCRIPT' || node.tagName === 'IMG' ||
            [...node.attributes].some((a) => a.name.startsWith('on') || /^\\s*javascript:/i.test(a.value))
        ).map((node) => node.outerHTML)"""
    )
    assert dangerous == []
    body.get_by_text("a trap").click()  # text, not a link: clicking it does nothing
    page.wait_for_timeout(300)
    assert page.evaluate("window.ran") is None
    assert watch.errors == []


def test_a_checklist_tick_appears_on_every_open_incident_page_within_two_seconds(console, open_page):
    runbook = rest(console, "POST", "/api/v1/runbooks/", {"title": "Fail over", "body": STEPS, "matchers": {}})
    incident = rest(console, "POST", "/api/v1/incidents/", {"title": "Primary database down"})
    path = f"/incidents/{incident['id']}/"
    ticking, watch = open_page(console)
    watching, _ = open_page(console)
    log_in(ticking, console, path)
    log_in(watching, console, path)
    connected(ticking)
    connected(watching)
    # Started from one page: the other sees the checklist arrive.
    ticking.select_option("#runbook-choice", str(runbook["id"]))
    ticking.click("#run-runbook button[type=submit]")
    checklist_id = watching.locator(".checklist").first
    checklist_id.wait_for(timeout=2_000)
    checklist = int(checklist_id.get_attribute("id").split("-")[1])
    # Ticked on one page: on the other within 2 s, with who, and on its timeline.
    started = time.monotonic()
    ticking.click(f"label[for=step-{checklist}-2]")
    watching.wait_for_selector(f"#step-{checklist}-2:checked", timeout=2_000)
    assert time.monotonic() - started < 2.0
    item = watching.locator(f"#checklist-{checklist} li").nth(1)
    assert "admin" in item.inner_text()
    watching.wait_for_selector("#timeline .kind[data-kind='incident.step_ticked']", timeout=2_000)
    # Ticked over REST: both pages within 2 s.
    started = time.monotonic()
    rest(console, "POST", f"/api/v1/incidents/{incident['id']}/checklists/{checklist}/steps/3/tick/", {})
    for page in (ticking, watching):
        page.wait_for_selector(f"#step-{checklist}-3:checked", timeout=2_000)
    assert time.monotonic() - started < 2.0
    assert watching.locator(f"#checklist-{checklist} h3").inner_text().endswith("2/3")
    SHOTS.mkdir(parents=True, exist_ok=True)
    watching.screenshot(path=str(SHOTS / f"incident-checklist-1440-{console.shape}.png"), full_page=True)
    assert watch.errors == []


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("width", [1440, 390])
def test_the_runbook_pages_at_desktop_and_phone_width_in_both_themes(console, browser, width, theme):
    runbooks = rest(console, "GET", "/api/v1/runbooks/?search=Disk%20full%20on%20db")["results"]
    if runbooks:
        runbook = runbooks[0]
    else:
        runbook = rest(
            console,
            "POST",
            "/api/v1/runbooks/",
            {
                "title": "Disk full on db",
                "body": HOSTILE,
                "matchers": {"role": "db", "env": "prod"},
                "category": "storage",
            },
        )
        rest(
            console,
            "POST",
            "/api/v1/runbooks/",
            {
                "title": "Packet loss between zones",
                "body": STEPS,
                "category": "network",
                "matchers": {"service": "edge"},
            },
        )
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=theme)
    try:
        page = context.new_page()
        watch = PageWatch(page, console.url)
        log_in(page, console, "/runbooks/")
        SHOTS.mkdir(parents=True, exist_ok=True)
        for name, path in (("list", "/runbooks/"), ("detail", f"/runbooks/{runbook['id']}/")):
            page.goto(f"{console.url}{path}")
            page.wait_for_selector(".runbook-list, #runbook-body")
            assert page.evaluate("document.documentElement.dataset.theme") == theme
            # Nothing pushes the page wider than the screen.
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, width)
            page.screenshot(path=str(SHOTS / f"runbooks-{name}-{width}-{theme}-{console.shape}.png"), full_page=True)
        assert watch.errors == []
    finally:
        context.close()
