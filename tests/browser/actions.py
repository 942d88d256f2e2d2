"""What page tests do to a console: log in, call its REST API, raise an alert, keep a screenshot."""

import json
import time
import urllib.request
from pathlib import Path

from tests.live import ADMIN_USERNAME

SCREENSHOTS = Path(__file__).resolve().parent.parent.parent / "artifacts" / "screenshots"


def log_in(page, console, next_path="/"):
    page.goto(f"{console.url}{next_path}")
    page.fill("#id_username", ADMIN_USERNAME)
    page.fill("#id_password", console.password)
    page.click("button[type=submit]")


def save_screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def rest(console, method, path, body=None):
    request = urllib.request.Request(
        f"{console.url}{path}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Token {console.token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def raise_alert(console, title, **fields):
    body = {
        "source": "e2e",
        "category": "cpu",
        "severity": "critical",
        "title": title,
        "labels": {"run": str(time.time())},
    }
    return rest(console, "POST", "/api/v1/alerts/", {**body, **fields})
