#!/usr/bin/env python
"""Screenshots of every page, 1440 and 390 px wide, light and dark, en and zh-Hans, for a person to look at.

Starts an embedded console with a little of everything in it (alerts, an
incident, a silence, a runbook, host metrics of two hosts), then saves
``artifacts/screenshots/matrix/<page>-<width>-<theme>-<language>.png`` and,
per page and width, one contact sheet of the four (``<page>-<width>-sheet.png``,
ImageMagick's ``montage`` if present). Pages that scroll sideways at 390 px are printed.

    .venv/bin/python scripts/screenshots.py [--only alerts,incident]
"""

import argparse
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("SECRET_KEY", "screenshots-only-" + "k" * 40)

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.actions import log_in, raise_alert, rest  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.live import running_console  # noqa: E402

OUT = BASE_DIR / "artifacts" / "screenshots" / "matrix"
WIDTHS = {1440: 900, 390: 844}
THEMES = ("light", "dark")
LANGUAGES = ("en", "zh-hans")


def seed(console):
    """A console a person would recognise: alerts in every state, an incident with evidence, and the rest."""
    now = datetime.now(UTC)
    points = [
        {
            "name": name,
            "value": value + (minute % 7),
            "timestamp": (now - timedelta(minutes=60 - minute)).isoformat(),
            "tags": {"host": host},
        }
        for host in ("web-1", "db-1")
        for name, value in (("cpu_percent", 35), ("memory_percent", 60), ("disk_usage_percent", 71))
        for minute in range(60)
    ]
    rest(console, "POST", "/api/v1/metrics/ingest/", {"points": points})
    disk = raise_alert(console, "Disk almost full on db-1", category="disk", labels={"host": "db-1", "team": "db"})
    cpu = raise_alert(console, "CPU saturated on web-1", labels={"host": "web-1", "team": "web"}, severity="warning")
    latency = raise_alert(console, "Checkout p99 above 2 s", category="custom", labels={"team": "payments"})
    rest(console, "POST", f"/api/v1/alerts/{cpu['id']}/acknowledge/", {"comment": "looking"})
    rest(console, "POST", f"/api/v1/alerts/{latency['id']}/resolve/", {"resolution": "cache warmed"})
    incident = rest(
        console, "POST", "/api/v1/incidents/", {"title": "Storage pressure on db-1", "alerts": [disk["id"]]}
    )
    rest(console, "POST", f"/api/v1/incidents/{incident['id']}/evidence/", {"minutes": 60})
    ends = (now + timedelta(hours=2)).isoformat()
    rest(console, "POST", "/api/v1/silences/", {"matchers": {"team": "web"}, "ends_at": ends, "comment": "deploy"})
    runbook = rest(
        console,
        "POST",
        "/api/v1/runbooks/",
        {"title": "Disk full", "body": "1. Check `df -h`\n2. Rotate logs\n", "matchers": {"team": "db"}},
    )
    return {"alert": disk["id"], "incident": incident["id"], "runbook": runbook["id"]}


def pages(ids):
    return {
        "dashboard": "/",
        "explorer": "/metrics/?metric=cpu_percent",
        "alerts": "/alerts/",
        "alert": f"/alerts/{ids['alert']}/",
        "incidents": "/incidents/",
        "incident": f"/incidents/{ids['incident']}/",
        "silences": "/silences/",
        "runbooks": "/runbooks/",
        "runbook": f"/runbooks/{ids['runbook']}/",
        "oncall": "/oncall/",
        "policies": "/oncall/policies/",
        "policy-new": "/oncall/policies/new/",
        "schedule-new": "/oncall/schedules/new/",
        "contacts": "/oncall/contacts/",
        "status": "/status/",
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated page names")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    wide = []
    with running_console("embedded") as console, sync_playwright() as playwright:
        ids = seed(console)
        chosen = pages(ids)
        if args.only:
            chosen = {name: path for name, path in chosen.items() if name in args.only.split(",")}
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for language in LANGUAGES:
            for theme in THEMES:
                for width, height in WIDTHS.items():
                    context = browser.new_context(viewport={"width": width, "height": height})
                    context.add_init_script(f"localStorage.setItem('opsconsole-theme', '{theme}')")
                    context.add_cookies([{"name": "django_language", "value": language, "url": console.url}])
                    page = context.new_page()
                    log_in(page, console)
                    page.wait_for_load_state("networkidle")
                    for name, path in chosen.items():
                        page.goto(f"{console.url}{path}")
                        page.wait_for_load_state("networkidle")
                        time.sleep(0.5)  # charts animate in
                        shot = OUT / f"{name}-{width}-{theme}-{language}.png"
                        page.screenshot(path=str(shot), full_page=width == 390)
                        if width == 390 and page.evaluate("document.documentElement.scrollWidth") > 390:
                            wide.append(f"{name} {theme} {language}")
                    context.close()
        browser.close()
    if shutil.which("montage"):
        for name in chosen:
            for width in WIDTHS:
                row = [str(OUT / f"{name}-{width}-{t}-{lang}.png") for lang in LANGUAGES for t in THEMES]
                sheet = OUT / f"{name}-{width}-sheet.png"
                tile = f"{min(width, 720)}x+4+4"
                subprocess.run(["montage", *row, "-tile", "4x1", "-geometry", tile, str(sheet)], check=True)
    print(f"{len(chosen) * 8} screenshots in {OUT}")
    print("wider than 390 px:", ", ".join(wide) if wide else "none")


if __name__ == "__main__":
    main()
