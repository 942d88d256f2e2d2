"""The pages' first paint, without a browser: the data is in the HTML before any script runs."""

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.tests.factories import make_alert, make_incident
from metrics.collector import host_name
from metrics.services import ingest_points
from tests.factories import make_points, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(make_user(staff=True))
    return client


def page_state(response, element_id):
    html = response.content.decode()
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    assert match, f"no json_script #{element_id} in the page"
    return json.loads(match.group(1))


def test_the_dashboard_first_paint_carries_the_stored_cpu_history(staff_client):
    start = timezone.now() - timedelta(minutes=5)
    ingest_points(
        make_points(
            *(
                {
                    "name": "cpu_percent",
                    "value": 40.0 + minute,
                    "timestamp": (start + timedelta(minutes=minute)).isoformat(),
                    "tags": {"host": host_name()},
                }
                for minute in range(3)
            )
        )
    )
    state = page_state(staff_client.get("/"), "dashboard-state")
    assert [value for _, value in state["history"]["cpu_percent"]] == [40.0, 41.0, 42.0]


def test_the_dashboard_first_paint_counts_firing_alerts_and_open_incidents(staff_client):
    make_alert(severity="critical")
    make_incident()
    response = staff_client.get("/")
    html = response.content.decode()
    assert re.search(r'id="firing-count">1<', html)
    assert re.search(r'id="incident-count">1<', html)
    assert page_state(response, "dashboard-state")["summary"]["by_status"]["firing"] == 1


def test_the_dashboard_event_log_starts_with_the_latest_alert_changes(staff_client):
    make_alert(title="Older")
    make_alert(title="Newer")
    recent = page_state(staff_client.get("/"), "dashboard-state")["recent_alerts"]
    assert [alert["title"] for alert in recent] == ["Newer", "Older"]


def test_an_alert_title_with_html_stays_inert_in_the_alert_centre_markup(staff_client):
    make_alert(title="</script><script>alert(1)</script>")
    response = staff_client.get("/alerts/")
    assert b"<script>alert(1)" not in response.content
    assert page_state(response, "alerts-state")["alerts"][0]["title"] == "</script><script>alert(1)</script>"


def test_the_metrics_explorer_offers_the_host_metrics_before_any_point_is_stored(staff_client):
    state = page_state(staff_client.get("/metrics/"), "explorer-state")
    assert {"cpu_percent", "memory_percent"} <= set(state["names"])
    assert state["hosts"] == [host_name()]


def test_the_incident_page_first_paint_holds_its_timeline(staff_client):
    incident = make_incident(title="Checkout degraded")
    state = page_state(staff_client.get(f"/incidents/{incident.pk}/"), "incident-state")
    assert state["incident"]["title"] == "Checkout degraded"
    assert [entry["kind"] for entry in state["timeline"]] == ["incident.opened"]


def test_the_pages_load_the_javascript_translation_catalog_in_the_chosen_language(staff_client):
    staff_client.cookies["django_language"] = "zh-hans"
    catalog = staff_client.get("/jsi18n/").content.decode()
    assert "\\u5b9e\\u65f6" in catalog or "实时" in catalog  # "live" in Simplified Chinese
    assert b'src="/jsi18n/"' in staff_client.get("/").content


def cpu_point(host, value):
    return {"name": "cpu_percent", "value": value, "tags": {"host": host}}


def test_the_dashboard_draws_the_host_the_url_names(staff_client):
    ingest_points(make_points(cpu_point("web-2", 55.0)))
    response = staff_client.get("/?host=web-2")
    state = page_state(response, "dashboard-state")
    assert state["host"] == "web-2"
    assert [value for _, value in state["history"]["cpu_percent"]] == [55.0]
    assert state["snapshot"]["cpu_percent"] == 55.0
    assert state["hosts"] == sorted({host_name(), "web-2"})
    assert '<option value="web-2" selected>' in response.content.decode()


def test_all_hosts_first_paint_holds_each_hosts_history_with_a_note_past_the_limit(staff_client):
    ingest_points(make_points(*(cpu_point(f"web-{n:02}", float(n)) for n in range(14))))
    response = staff_client.get("/?host=all")
    state = page_state(response, "dashboard-state")
    assert len(state["shown_hosts"]) == 12
    assert [value for _, value in state["host_history"]["web-00"]["cpu_percent"]] == [0.0]
    assert len(state["hosts"]) == 15  # and the console's own
    assert 'id="more-hosts"' in response.content.decode()


def test_a_fresh_install_shows_the_first_steps_until_a_metric_and_an_alert_are_sent(staff_client):
    ingest_points(make_points(cpu_point(host_name(), 3.0)))  # the console's own collector does not count
    html = staff_client.get("/").content.decode()
    assert 'id="command-metric"' in html and 'id="command-alert"' in html
    ingest_points(make_points(cpu_point("web-1", 4.0)))
    make_alert()
    assert 'id="first-steps"' not in staff_client.get("/").content.decode()


def test_the_stats_answer_says_which_alerts_stream_seq_it_reflects(staff_client):
    from realtime.replay import stream_position
    from realtime.topics import ALERTS

    make_alert()
    response = staff_client.get("/api/v1/stats/")
    assert response["X-Stream-Seq"] == str(stream_position(ALERTS))
