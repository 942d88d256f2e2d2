"""The dashboard in a real browser, in both shapes: log in, watch the host move."""

import time

import pytest

from tests.browser.actions import log_in, save_screenshot
from tests.live import running_console

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", params=["embedded", "services"])
def console(request):
    with running_console(request.param) as console:
        yield console


def chart_points(page, metric):
    return page.evaluate(f"window.opsconsoleDashboard.charts.get('{metric}').points.length")


def test_anonymous_visitors_are_redirected_to_the_login_page(console, open_page):
    page, _ = open_page(console)
    page.goto(f"{console.url}/")
    assert page.url == f"{console.url}/login/?next=/"
    assert page.locator("#id_username").is_visible()


def test_the_dashboard_charts_move_with_the_5_second_performance_pushes(console, open_page):
    page, watch = open_page(console)
    log_in(page, console)
    page.wait_for_selector("#chart-cpu canvas")
    page.wait_for_function("() => document.documentElement.dataset.realtime === 'connected'", timeout=15_000)
    before = {metric: chart_points(page, metric) for metric in ("cpu_percent", "memory_percent")}
    first_stamp = page.locator("#last-update").get_attribute("datetime")
    time.sleep(11)  # two collection intervals of 5 s, plus slack
    after = {metric: chart_points(page, metric) for metric in ("cpu_percent", "memory_percent")}
    assert after["cpu_percent"] >= before["cpu_percent"] + 2
    assert after["memory_percent"] >= before["memory_percent"] + 2
    assert page.locator("#last-update").get_attribute("datetime") != first_stamp
    assert page.locator("#realtime-status").inner_text() == "live"
    save_screenshot(page, f"dashboard-{console.shape}")
    assert watch.errors == []
    assert watch.foreign_requests == []
