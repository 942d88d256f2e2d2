"""Debian's Chromium driven by Playwright, against consoles started by tests.live."""

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium phones home at start-up,
# which a closed network refuses; the console itself must never need it.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Per module, not per session: Playwright's sync API keeps its event loop
# running in the main thread while it is open, and any asyncio test run after
# it (pytest-django moves database-free tests to the end) would find that loop
# and fail with "Runner.run() cannot be called from a running event loop".
@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed for page tests (.ci/run installs it)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageWatch:
    """Console errors and requests that leave the console's origin, seen while a page runs."""

    def __init__(self, page, origin):
        self.errors, self.foreign_requests = [], []
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

        def check_origin(request):
            parts = urlsplit(request.url)
            if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != urlsplit(origin).netloc:
                self.foreign_requests.append(request.url)

        page.on("request", check_origin)


@pytest.fixture
def open_page(browser):
    """``open_page(console)`` gives a 1440x900 page and its watch; closed after the test."""
    contexts = []

    def open_(console):
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        contexts.append(context)
        page = context.new_page()
        return page, PageWatch(page, console.url)

    yield open_
    for context in contexts:
        context.close()
