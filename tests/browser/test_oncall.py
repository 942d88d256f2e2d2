"""On call in a real browser: a rotation and a two-step policy made on the pages page a loopback receiver."""

import time
from datetime import date

import pytest

from alerts.tests.receivers import Receiver
from tests.browser.actions import SCREENSHOTS, log_in, raise_alert, rest, save_screenshot
from tests.browser.conftest import PageWatch
from tests.live import ADMIN_USERNAME, running_console

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def console():
    # Loopback receivers allowed (production denies them); escalation passes every second.
    with running_console("embedded", extra_env={"OPSCONSOLE_WEBHOOK_DENY_NETWORKS": "169.254.0.0/16"}) as console:
        yield console


def wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    return condition()


def test_a_rotation_and_a_two_step_policy_made_on_the_pages_page_their_receivers(console, open_page):
    phone, team_room = Receiver(), Receiver()
    try:
        assert rest(console, "GET", "/api/v1/oncall/") == []  # no schedule yet
        method = {"user": _admin_id(console), "label": "phone", "kind": "webhook", "url": phone.url}
        rest(console, "POST", "/api/v1/oncall/contact-methods/", method)
        # Routed only to info alerts: what it hears of this critical one is the escalation's page.
        room = {"name": "team room", "kind": "webhook", "url": team_room.url, "severities": ["info"]}
        rest(console, "POST", "/api/v1/channels/", room)
        page, watch = open_page(console)
        log_in(page, console, "/oncall/")

        page.click("text=New rotation")
        page.fill("input[name=name]", "primary")
        page.fill("input[name=time_zone]", "Europe/Berlin")
        page.select_option("select[name=rotation]", "daily")
        page.fill("input[name=starts_on]", (date.today().replace(day=1)).isoformat())
        page.fill("input[name=handoff_time]", "09:00")
        page.select_option("select[name=member-0]", label="admin")
        page.click("text=Save rotation")
        page.wait_for_selector(".now-user")
        assert page.inner_text(".now-user") == "admin"

        page.click("text=New policy")
        page.fill("input[name=name]", "everything")
        page.check("input[name=is_default]")
        page.select_option("select[name=step-0-target]", "schedule")
        page.select_option("select[name=step-0-schedule]", label="primary")
        page.fill("input[name=step-0-wait]", "0")
        page.select_option("select[name=step-1-target]", "channel")
        page.select_option("select[name=step-1-channel]", label="team room")
        page.click("text=Save policy")
        page.wait_for_selector("text=everything")
        save_screenshot(page, "oncall-policies")

        assert watch.errors == []
        alert = raise_alert(console, "Checkout is failing", severity="critical")
        assert wait_for(lambda: len(phone.requests) >= 1 and len(team_room.requests) >= 1)

        def pages_on_timeline():
            lines = [entry["text"] for entry in rest(console, "GET", f"/api/v1/alerts/{alert['id']}/timeline/")]
            return lines if "paged channel team room — delivered" in lines else None

        lines = wait_for(pages_on_timeline)
        assert lines, "the pages' outcomes reached the timeline"
        assert "escalating by everything: paging admin" in lines
        assert "paged admin by phone — delivered" in lines
        assert "no acknowledgement after 0 min — paging team room" in lines
        assert phone.events()[0] == (alert["id"], "alert.fired")
    finally:
        phone.close()
        team_room.close()


def _admin_id(console):
    script = f"from django.contrib.auth.models import User; print(User.objects.get(username={ADMIN_USERNAME!r}).pk)"
    return int(console.manage("shell", "-c", script).strip().splitlines()[-1])


@pytest.mark.parametrize(("width", "theme"), [(1440, "light"), (390, "dark")])
def test_a_contact_method_added_on_its_page_gets_its_test_delivered(console, browser, width, theme):
    hook = Receiver()
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=theme)
    try:
        page = context.new_page()
        watch = PageWatch(page, console.url)
        log_in(page, console, "/oncall/")
        page.click("text=How I am paged")
        label = f"hook-{width}"
        page.fill("#contact-form input[name=label]", label)
        page.select_option("#contact-form select[name=kind]", "webhook")
        page.fill("#contact-form input[name=url]", f"{hook.url}?token=s3cret-{width}")
        page.click("text=Add contact method")
        card = page.locator(f".contact[data-contact='{label}']")
        card.wait_for()
        assert "s3cret" not in page.content()  # the saved URL's secret is not shown back

        card.locator("text=Send me a test").click()
        card.locator(".contact-outcome.sent").wait_for(timeout=15_000)  # the page looks again while sending
        assert "Test delivered" in card.locator(".contact-outcome").inner_text()
        assert [event for _, event in hook.events()] == ["test"]
        assert page.evaluate("document.documentElement.dataset.theme") == theme
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"oncall-contacts-{width}-{theme}.png"), full_page=True)

        card.locator("text=Delete").click()
        page.wait_for_selector(f".contact[data-contact='{label}']", state="detached")
        assert watch.errors == []
    finally:
        context.close()
        hook.close()
