"""Script in every field a user or an agent can fill, on every page: shown as text, never run."""

import pytest

from tests.browser.actions import log_in, rest
from tests.live import running_console

pytestmark = pytest.mark.browser

# Runs if a page ever inserts it as HTML: the image's error handler, or the script.
MARKUP = '<img src=x onerror="window.pwned=1"><script>window.pwned=1</script>'
# Tag values may hold neither "=" nor ","; a script that throws is caught as a page error instead.
TAG_MARKUP = "<script>null.pwned</script>"


@pytest.fixture(scope="module")
def console():
    # Escaping is the pages' own code, the same in both shapes; the embedded one starts fastest.
    with running_console("embedded") as console:
        yield console


@pytest.fixture(scope="module")
def planted(console):
    """One of each thing with markup in every free-text field, created over REST as an agent would."""
    alert = rest(
        console,
        "POST",
        "/api/v1/alerts/",
        {
            "source": f"src {MARKUP}",
            "category": "custom",
            "severity": "critical",
            "title": f"title {MARKUP}",
            "message": f"message {MARKUP}",
            "labels": {"team": f"label {MARKUP}"},
        },
    )
    resolved = rest(console, "POST", "/api/v1/alerts/", {"source": "s", "title": f"resolved {MARKUP}"})
    rest(console, "POST", f"/api/v1/alerts/{resolved['id']}/resolve/", {"resolution": f"resolution {MARKUP}"})
    incident = rest(
        console,
        "POST",
        "/api/v1/incidents/",
        {
            "title": f"incident {MARKUP}",
            "summary": f"summary {MARKUP}",
            "alerts": [alert["id"], resolved["id"]],
        },
    )
    rest(console, "POST", f"/api/v1/incidents/{incident['id']}/notes/", {"text": f"note {MARKUP}"})
    rest(
        console,
        "POST",
        "/api/v1/silences/",
        {
            "matchers": {"team": f"silenced {MARKUP}"},
            "ends_at": "2099-01-01T00:00:00Z",
            "comment": f"comment {MARKUP}",
        },
    )
    rest(
        console,
        "POST",
        "/api/v1/metrics/ingest/",
        {"points": [{"name": "disk_percent", "value": 1, "tags": {"host": TAG_MARKUP}}]},
    )
    return {"alert": alert, "incident": incident}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", ["title " + MARKUP]),
        ("/alerts/", ["title " + MARKUP, "message " + MARKUP, "src " + MARKUP, "team=label " + MARKUP]),
        ("/incidents/", ["incident " + MARKUP]),
        ("/incidents/{incident}/", ["incident " + MARKUP, "summary " + MARKUP, "note " + MARKUP, "title " + MARKUP]),
        ("/metrics/", []),
        ("/alerts/{alert}/", ["title " + MARKUP, "message " + MARKUP, "src " + MARKUP, "team=label " + MARKUP]),
        ("/silences/", ["team=silenced " + MARKUP, "comment " + MARKUP]),
    ],
    ids=["dashboard", "alert-centre", "incidents", "incident", "metrics", "alert", "silences"],
)
def test_markup_in_user_fields_is_shown_as_text_and_never_runs(console, planted, open_page, path, expected):
    page, watch = open_page(console)
    log_in(page, console, path.format(incident=planted["incident"]["id"], alert=planted["alert"]["id"]))
    page.wait_for_function("() => document.documentElement.dataset.realtime === 'connected'", timeout=15_000)
    page.wait_for_timeout(1_500)  # live updates and the first summary have drawn
    if path == "/metrics/":
        page.select_option("#metric-host", label=TAG_MARKUP)
        page.select_option("#metric-name", "disk_percent")
        page.wait_for_timeout(1_000)
    text = page.locator("body").inner_text()
    for shown in expected:
        assert shown in text, f"{shown!r} is not shown as text on {path}"
    assert page.evaluate("window.pwned") is None
    assert page.locator("img[src=x]").count() == 0
    assert watch.errors == []
