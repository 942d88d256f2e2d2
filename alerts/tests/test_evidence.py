"""Evidence on an incident (contract, section 9) and its postmortem export."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.evidence import MAX_POINTS
from alerts.models import EventKind, IncidentEvidence
from alerts.tests.factories import make_alert, make_incident
from metrics.models import Sample
from metrics.points import Point, tags_key
from metrics.retention import apply_retention
from metrics.services import ingest_points
from realtime.tests.streams import sent_since, stream_mark

pytestmark = pytest.mark.django_db


def store(name, tags, samples):
    ingest_points([Point(name, tags_key(tags), tags, ts, value) for ts, value in samples])


def post(client, path, body):
    return client.post(path, body, content_type="application/json")


@pytest.fixture
def disk_incident():
    """An incident whose alert is about web-7's disk, which has 30 points ten seconds apart."""
    start = timezone.now().replace(microsecond=0) - timedelta(minutes=10)
    samples = [(start + timedelta(seconds=10 * n), 50.0 + n) for n in range(30)]
    store("disk_used_percent", {"host": "web-7"}, samples)
    store("disk_used_percent", {"host": "web-7", "mount": "/var"}, samples)  # a superset: not this alert's
    alert = make_alert(labels={"host": "web-7"})
    incident = make_incident(title="Disk filling", alert_ids=[alert.pk])
    return incident, samples


def capture(client, incident, body):
    return post(client, f"/api/v1/incidents/{incident.pk}/evidence/", body)


def test_capturing_evidence_stores_the_points_and_stats_of_the_alerts_series(staff_client, disk_incident):
    incident, samples = disk_incident
    start, end = samples[0][0], samples[-1][0] + timedelta(seconds=1)
    response = capture(staff_client, incident, {"start": start.isoformat(), "end": end.isoformat()})
    assert response.status_code == 201, response.content
    [series] = response.json()["series"]
    assert (series["name"], series["tags"]) == ("disk_used_percent", {"host": "web-7"})
    assert [value for _, value in series["points"]] == [value for _, value in samples]
    assert series["stats"] == {"min": 50.0, "avg": 64.5, "max": 79.0, "last": 79.0}
    listed = staff_client.get(f"/api/v1/incidents/{incident.pk}/evidence/").json()
    assert [item["id"] for item in listed] == [response.json()["id"]]


def test_a_capture_is_a_timeline_entry_and_pushes_the_incident(
    staff_client, disk_incident, django_capture_on_commit_callbacks
):
    incident, _ = disk_incident
    mark = stream_mark()
    with django_capture_on_commit_callbacks(execute=True):
        evidence_id = capture(staff_client, incident, {"minutes": 15}).json()["id"]
    timeline = staff_client.get(f"/api/v1/incidents/{incident.pk}/timeline/").json()
    entry = timeline[-1]
    assert entry["kind"] == EventKind.INCIDENT_EVIDENCE_CAPTURED and entry["data"]["evidence"] == evidence_id
    assert entry["text"] == "disk_used_percent host=web-7"
    pushed = [event for event in sent_since(mark) if event["type"] == "incident"]
    assert [event["data"]["id"] for event in pushed] == [incident.pk]
    assert pushed[0]["data"]["version"] == incident.version + 1


def test_evidence_keeps_its_points_after_retention_deletes_the_raw_ones(staff_client, disk_incident, settings):
    incident, samples = disk_incident
    captured = capture(staff_client, incident, {"minutes": 15}).json()
    settings.OPSCONSOLE_RETENTION_DAYS = 1
    assert apply_retention(now=timezone.now() + timedelta(days=2)) == 60
    assert not Sample.objects.exists()
    [series] = staff_client.get(f"/api/v1/incidents/{incident.pk}/evidence/").json()[0]["series"]
    assert series == captured["series"][0]
    assert len(series["points"]) == len(samples)  # ten-second points, finer than the minute rollups left


def test_a_long_window_is_downsampled_to_at_most_max_points(staff_client, disk_incident):
    incident, _ = disk_incident
    start = timezone.now() - timedelta(days=30) + timedelta(minutes=1)
    store("disk_used_percent", {"host": "web-7"}, [(start + timedelta(hours=n), float(n)) for n in range(720)])
    [series] = capture(staff_client, incident, {"minutes": 30 * 24 * 60}).json()["series"]
    assert len(series["points"]) <= MAX_POINTS
    assert series["stats"]["min"] == 0.0  # of every point, not of the averages


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}, "end"),
        ({"start": "2026-01-01T00:00:00Z", "end": "2026-03-01T00:00:00Z"}, "end"),
        ({"start": "2026-01-01T00:00:00Z"}, "end"),
        ({"end": "2026-01-01T00:00:00Z"}, "start"),
        ({}, "start"),
        ({"minutes": 0}, "minutes"),
        ({"minutes": 10**9}, "minutes"),
        ({"minutes": 15, "start": "2026-01-01T00:00:00Z"}, "minutes"),
        ({"minutes": 15, "window": "1h"}, "window"),
    ],
)
def test_a_bad_window_is_a_400_naming_the_field_and_stores_nothing(staff_client, disk_incident, body, field):
    incident, _ = disk_incident
    response = capture(staff_client, incident, body)
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not IncidentEvidence.objects.exists()


def test_an_incident_without_series_has_nothing_to_capture(staff_client):
    incident = make_incident(alert_ids=[make_alert(labels={}).pk])
    response = capture(staff_client, incident, {"minutes": 15})
    assert response.status_code == 400 and "series" in response.json()["detail"]


def test_evidence_of_a_missing_incident_is_a_404(staff_client):
    assert capture(staff_client, type("Missing", (), {"pk": 987654})(), {"minutes": 15}).status_code == 404
    assert staff_client.get("/api/v1/incidents/987654/report.md").status_code == 404


def test_the_report_has_the_summary_timeline_alerts_and_evidence(staff_client, disk_incident):
    incident, _ = disk_incident
    capture(staff_client, incident, {"minutes": 15})
    staff_client.patch(
        f"/api/v1/incidents/{incident.pk}/", {"status": "investigating"}, content_type="application/json"
    )
    post(staff_client, f"/api/v1/incidents/{incident.pk}/notes/", {"text": "rotated the logs"})
    response = staff_client.get(f"/api/v1/incidents/{incident.pk}/report.md")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == f"attachment; filename=incident-{incident.pk}.md"
    report = response.content.decode()
    assert report.startswith(f"# Incident #{incident.pk}: Disk filling\n")
    assert "| Status | investigating |" in report
    assert "| status changed | status: open → investigating |" in report
    assert "| note |  | rotated the logs |" in report
    assert "| evidence captured | 1 series," in report
    assert "| Alert " in report and "host=web\\-7" not in report and "host=web-7" in report
    assert "### Evidence 1:" in report
    assert "| disk\\_used\\_percent host=web-7 |  | 50 | 64.5 | 79 | 79 |" in report.replace("—", "")


def test_user_text_cannot_break_the_reports_markdown(staff_client):
    incident = make_incident(title="# Evil | title\nsecond line #", summary="- not a list\n# not a heading\n1. no")
    post(staff_client, f"/api/v1/incidents/{incident.pk}/notes/", {"text": "a | b\n## c"})
    report = staff_client.get(f"/api/v1/incidents/{incident.pk}/report.md").content.decode()
    lines = report.splitlines()
    assert lines[0] == f"# Incident #{incident.pk}: \\# Evil \\| title second line \\#"
    assert "\\- not a list\\\n\\# not a heading\\\n1\\. no" in report
    [note] = [line for line in lines if "| note |" in line]
    assert note.endswith("| a \\| b \\#\\# c |")
    assert note.replace("\\|", "").count("|") == 6  # five cells, nothing split
    assert not any(
        line.startswith(("#", "-", "1.")) for line in lines[1:] if "Incident" not in line and line[:3] != "## "
    )
