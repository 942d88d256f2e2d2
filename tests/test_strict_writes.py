"""Every write of the API refuses a body field it does not know (contract, section 5).

The walk is over the OpenAPI schema, so a write operation added later (its
serializer not derived from ``opsconsole.strict``) fails here.
"""

from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from alerts.models import Alert, AlertRule, Incident, NotificationChannel, Silence
from metrics.models import Series
from metrics.points import tags_key
from oncall.models import NotificationRule, Override
from opsconsole.strict import UNKNOWN_FIELD
from runbooks.checklists import run_runbook
from runbooks.models import Runbook
from tests.factories import make_token, make_user

WRITE_METHODS = ("post", "put", "patch")
UNKNOWN = "no_such_field"
# Bodies that would be accepted; with an unknown field added, they must not be.
VALID_BODIES = {
    ("POST", "/api/v1/alerts/"): {"source": "test", "title": "new alert", "severity": "critical"},
    ("PATCH", "/api/v1/alerts/{id}/"): {"title": "renamed"},
    ("POST", "/api/v1/alerts/{id}/acknowledge/"): {},
    ("POST", "/api/v1/alerts/{id}/resolve/"): {"resolution": "fixed"},
    ("POST", "/api/v1/components/{name}/status/"): {"status": "running", "expect_every": 60},
    ("POST", "/api/v1/incidents/"): {"title": "new incident"},
    ("PATCH", "/api/v1/incidents/{id}/"): {"title": "renamed"},
    ("POST", "/api/v1/incidents/{id}/alerts/"): {"alerts": ["{alerts}"]},
    ("POST", "/api/v1/incidents/{id}/notes/"): {"text": "a note"},
    ("POST", "/api/v1/incidents/{id}/evidence/"): {"minutes": 15},
    ("POST", "/api/v1/rules/"): {"name": "mem", "metric": "mem_percent", "threshold": 90, "title": "mem high"},
    ("PATCH", "/api/v1/rules/{id}/"): {"threshold": 95},
    ("POST", "/api/v1/channels/"): {"name": "hook", "kind": "webhook", "url": "https://hooks.example.com/ops"},
    ("PATCH", "/api/v1/channels/{id}/"): {"name": "renamed"},
    ("POST", "/api/v1/channels/{id}/test/"): {},
    ("POST", "/api/v1/silences/"): {"matchers": {"host": "db-2"}, "ends_at": "2099-01-01T00:00:00Z", "comment": "x"},
    ("POST", "/api/v1/silences/preview/"): {"matchers": {"host": "db-1"}},
    ("POST", "/api/v1/runbooks/"): {"title": "Disk full", "body": "1. Free space", "matchers": {"host": "db-1"}},
    ("PATCH", "/api/v1/runbooks/{id}/"): {"category": "storage"},
    ("POST", "/api/v1/incidents/{id}/checklists/"): {"runbook": "{runbook}"},
    ("POST", "/api/v1/incidents/{id}/checklists/{checklist}/steps/{number}/tick/"): {},
    ("POST", "/api/v1/oncall/schedules/"): {"name": "secondary", "time_zone": "Europe/Berlin"},
    ("PATCH", "/api/v1/oncall/schedules/{id}/"): {"name": "renamed"},
    ("POST", "/api/v1/oncall/layers/"): {
        "schedule": "{oncall/schedules}",
        "name": "weekly",
        "starts_on": "2026-03-02",
        "handoff_time": "09:00",
        "users": ["{user}"],
    },
    ("PATCH", "/api/v1/oncall/layers/{id}/"): {"name": "renamed"},
    ("POST", "/api/v1/oncall/overrides/"): {
        "schedule": "{oncall/schedules}",
        "user": "{user}",
        "starts_at": "2026-03-06T18:00:00Z",
        "ends_at": "2026-03-07T06:00:00Z",
    },
    ("PATCH", "/api/v1/oncall/overrides/{id}/"): {"ends_at": "2099-01-01T00:00:00Z"},
    ("POST", "/api/v1/oncall/feeds/"): {"schedule": "{oncall/schedules}"},
    ("POST", "/api/v1/oncall/contact-methods/"): {
        "user": "{user}",
        "label": "mail",
        "kind": "email",
        "emails": "bo@example.com",
    },
    ("PATCH", "/api/v1/oncall/contact-methods/{id}/"): {"label": "renamed"},
    ("POST", "/api/v1/oncall/contact-methods/{id}/test/"): {},
    ("POST", "/api/v1/oncall/notification-rules/"): {
        "severity": "critical",
        "contact_method": "{oncall/contact-methods}",
        "delay_minutes": 5,
    },
    ("PATCH", "/api/v1/oncall/notification-rules/{id}/"): {"delay_minutes": 10},
    ("POST", "/api/v1/oncall/policies/"): {"name": "db", "steps": [{"target": "users", "users": ["{user}"]}]},
    ("PATCH", "/api/v1/oncall/policies/{id}/"): {"repeat": 2},
}
# The ingest body has its own error shape (contract, section 2): `detail` names the field.
OWN_ERROR_SHAPE = {("POST", "/api/v1/metrics/ingest/"): {"points": [{"name": "cpu", "value": 1}]}}
# Bodies other programs write (contract, section 7): a newer Alertmanager,
# PagerDuty client or collector adds fields, and refusing them would stop its
# alerts; these endpoints ignore what they do not read (docs/integrations.md).
TOOL_BODIES = {
    ("POST", "/api/v1/integrations/alertmanager/"),
    ("POST", "/api/v1/integrations/pagerduty/"),
    ("POST", "/api/v1/metrics/otlp/v1/metrics"),
    ("POST", "/api/v2/write"),
}


def write_operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in WRITE_METHODS and (method.upper(), path) not in TOOL_BODIES:
                operations.append((method.upper(), path, operation))
    return schema, operations


def request_schema(schema, operation):
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    if "$ref" in body:
        body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    return body


@pytest.fixture
def objects(db):
    alert = Alert.objects.create(title="disk full", fingerprint="disk-full", source="test")
    spare = Alert.objects.create(title="disk slow", fingerprint="disk-slow", source="test")
    incident = Incident.objects.create(title="storage outage")
    # Its evidence is of db-1's disk.
    Series.objects.create(name="disk_used_percent", tags={"host": "db-1"}, tags_key=tags_key({"host": "db-1"}))
    Alert.objects.create(
        title="db-1 disk", fingerprint="db-1-disk", source="test", labels={"host": "db-1"}, incident=incident
    )
    rule = AlertRule.objects.create(name="cpu", metric="cpu_percent", threshold=90, title="cpu high")
    silence = Silence.objects.create(
        matchers={"host": "db-1"}, ends_at=timezone.now() + timedelta(hours=1), comment="maintenance", created_by="t"
    )
    channel = NotificationChannel.objects.create(name="mail", kind="email", emails="oncall@example.com")
    runbook = Runbook.objects.create(title="Storage", body="1. Look\n2. Fix", matchers={"host": "db-1"})
    spare_runbook = Runbook.objects.create(title="Spare", body="1. Only step")
    checklist, _ = run_runbook(incident.pk, runbook.pk, "test")
    return {
        **_on_call_objects(),
        "runbooks": runbook.pk,
        "runbook": spare_runbook.pk,
        "checklist": checklist.pk,
        "alerts": alert.pk,
        "spare": spare.pk,
        "incidents": incident.pk,
        "rules": rule.pk,
        "silences": silence.pk,
        "channels": channel.pk,
    }


def _on_call_objects():
    from oncall.contacts import add_contact_method
    from oncall.tests.factories import make_policy, make_schedule

    user = make_user(username="ana")
    schedule = make_schedule([user])
    method = add_contact_method(user, "pager", "email", emails="ana@example.com")
    rule = NotificationRule.objects.create(user=user, severity="critical", contact_method=method)
    override = Override.objects.create(
        schedule=schedule, user=user, starts_at=timezone.now(), ends_at=timezone.now() + timedelta(hours=1)
    )
    policy = make_policy([{"target": "users", "users": [user]}])
    return {
        "user": user.pk,
        "oncall/schedules": schedule.pk,
        "oncall/layers": schedule.layers.get().pk,
        "oncall/overrides": override.pk,
        "oncall/contact-methods": method.pk,
        "oncall/notification-rules": rule.pk,
        "oncall/policies": policy.pk,
    }


@pytest.fixture
def client(objects):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {make_token(make_user(superuser=True))[1]}")
    return api


def stored_state():
    """Every row of the domain apps, so a refused write can be shown to have changed nothing."""
    state = {}
    for label in ("alerts", "metrics", "runbooks", "oncall"):
        for model in apps.get_app_config(label).get_models():
            state[model._meta.label] = sorted(model._default_manager.order_by().values_list(), key=repr)
    return state


def _filled(value, objects):
    if value == ["{alerts}"]:
        return [objects["spare"]]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return objects[value[1:-1]]
    if isinstance(value, list):
        return [_filled(item, objects) for item in value]
    if isinstance(value, dict):
        return {key: _filled(item, objects) for key, item in value.items()}
    return value


def fill(body, objects):
    return {key: _filled(value, objects) for key, value in body.items()}


def _resource(path):
    parts = path.split("/")
    return "/".join(parts[3:5]) if parts[3] == "oncall" else parts[3]


def send(client, method, path, body, objects):
    url = path.replace("{id}", str(objects.get(_resource(path), 0))).replace("{name}", "probe")
    url = url.replace("{checklist}", str(objects["checklist"])).replace("{number}", "1")
    return getattr(client, method.lower())(url, body, format="json")


def test_every_write_body_is_described_as_allowing_no_other_fields():
    schema, operations = write_operations()
    assert len(operations) >= 12
    loose = [
        (method, path)
        for method, path, operation in operations
        if request_schema(schema, operation).get("additionalProperties") is not False
    ]
    assert loose == []


def test_every_write_refuses_an_unknown_field_naming_it_and_stores_nothing(client, objects):
    _, operations = write_operations()
    for method, path, _operation in operations:
        if (method, path) in OWN_ERROR_SHAPE:
            continue
        before = stored_state()
        body = {**fill(VALID_BODIES.get((method, path), {}), objects), UNKNOWN: "x", "other_unknown": 1}
        answer = send(client, method, path, body, objects)
        assert answer.status_code == 400, (method, path, answer.status_code, answer.content)
        assert answer.json() == {UNKNOWN: [UNKNOWN_FIELD], "other_unknown": [UNKNOWN_FIELD]}, (method, path)
        assert stored_state() == before, (method, path)


def test_the_valid_bodies_of_the_walk_are_accepted_without_the_unknown_field(client, objects):
    # Otherwise the walk above could pass on bodies refused for another reason.
    for (method, path), body in VALID_BODIES.items():
        answer = send(client, method, path, fill(body, objects), objects)
        assert answer.status_code < 300, (method, path, answer.status_code, answer.content)


def test_the_ingest_body_refuses_an_unknown_field_naming_it(client, objects):
    for (method, path), body in OWN_ERROR_SHAPE.items():
        before = stored_state()
        answer = send(client, method, path, {**body, UNKNOWN: 1}, objects)
        assert answer.status_code == 400
        assert UNKNOWN in answer.json()["detail"]
        assert stored_state() == before


def test_a_rule_with_matchers_instead_of_tags_is_refused(client, objects):
    body = {"name": "db", "metric": "cpu_percent", "threshold": 90, "title": "db", "matchers": {"host": "db-1"}}
    answer = client.post("/api/v1/rules/", body, format="json")
    assert answer.status_code == 400
    assert answer.json() == {"matchers": [UNKNOWN_FIELD]}
    assert not AlertRule.objects.filter(name="db").exists()


def test_an_alert_with_a_misspelt_severity_is_refused(client, objects):
    answer = client.post("/api/v1/alerts/", {"source": "t", "title": "x", "severty": "critical"}, format="json")
    assert answer.status_code == 400
    assert answer.json() == {"severty": [UNKNOWN_FIELD]}
    assert not Alert.objects.filter(title="x").exists()


def test_unknown_fields_are_named_with_the_known_fields_errors(client, objects):
    answer = client.post("/api/v1/alerts/", {"source": "t", "severty": "critical"}, format="json")
    assert answer.status_code == 400
    assert answer.json() == {"title": ["This field is required."], "severty": [UNKNOWN_FIELD]}


def test_a_read_only_field_in_a_body_is_refused(client, objects):
    answer = client.patch(f"/api/v1/rules/{objects['rules']}/", {"created_at": "2020-01-01T00:00:00Z"}, format="json")
    assert answer.status_code == 400
    assert list(answer.json()) == ["created_at"]
