"""Schemathesis, statefully: create alerts, incidents, rules and silences, then drive every id-taking call on them.

drf-spectacular writes no OpenAPI links, but schemathesis 4 infers them from
the schema itself (a create or list answer carries ``id``; ``/{id}/``
operations take it), so ``as_state_machine()`` chains POST → GET/PATCH/
DELETE/acknowledge/resolve/alerts/notes/timeline on real ids instead of
random ones that can only be 404s.
"""

import json
from collections import defaultdict

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, settings
from schemathesis.specs.openapi.checks import ensure_resource_availability, use_after_free

from metrics.models import Series
from metrics.points import tags_key
from tests.api_schema import CONFORMANCE_CHECKS
from tests.factories import make_user

# The operations that take an {id}: the stateful run must reach each of them
# with an id a create (or list) call answered, and get past the 404.
ID_TAKING = {
    "GET /api/v1/alerts/{id}/",
    "PATCH /api/v1/alerts/{id}/",
    "DELETE /api/v1/alerts/{id}/",
    "POST /api/v1/alerts/{id}/acknowledge/",
    "POST /api/v1/alerts/{id}/resolve/",
    "GET /api/v1/alerts/{id}/timeline/",
    "GET /api/v1/incidents/{id}/",
    "PATCH /api/v1/incidents/{id}/",
    "POST /api/v1/incidents/{id}/alerts/",
    "POST /api/v1/incidents/{id}/notes/",
    "GET /api/v1/incidents/{id}/timeline/",
    "GET /api/v1/rules/{id}/",
    "PATCH /api/v1/rules/{id}/",
    "DELETE /api/v1/rules/{id}/",
    "GET /api/v1/silences/{id}/",
    "DELETE /api/v1/silences/{id}/",
    "GET /api/v1/channels/{id}/",
    "PATCH /api/v1/channels/{id}/",
    "DELETE /api/v1/channels/{id}/",
    "POST /api/v1/channels/{id}/test/",
}
CORE_ID_TAKING = set(ID_TAKING)
ID_TAKING |= {
    "POST /api/v1/silences/{id}/expire/",
    "GET /api/v1/incidents/{id}/checklists/",
    "POST /api/v1/incidents/{id}/checklists/",
    "GET /api/v1/incidents/{id}/evidence/",
    "POST /api/v1/incidents/{id}/evidence/",
    "GET /api/v1/incidents/{id}/report.md",
    "POST /api/v1/incidents/{id}/checklists/{checklist}/steps/{number}/tick/",
    "GET /api/v1/runbooks/{id}/",
    "PATCH /api/v1/runbooks/{id}/",
    "DELETE /api/v1/runbooks/{id}/",
    *(
        f"{method} /api/v1/oncall/{kind}/{{id}}/"
        for kind in ("schedules", "layers", "overrides", "contact-methods", "notification-rules", "policies")
        for method in ("GET", "PATCH", "DELETE")
    ),
    "GET /api/v1/oncall/schedules/{id}/shifts/",
    "POST /api/v1/oncall/contact-methods/{id}/test/",
    "GET /api/v1/oncall/feeds/{id}/",
    "DELETE /api/v1/oncall/feeds/{id}/",
}
# Enough scenarios that most links are followed (the run asserts it), few
# enough for about 30-50 s on a loaded two-core machine.
SCENARIOS = 100
STEPS = 12


def error_bodies_follow_the_contract(ctx, response, case):
    """Contract, section 2: every error body is JSON, an object naming the reason."""
    if response.status_code < 400:
        return None
    try:
        body = json.loads(response.text)
    except ValueError:
        raise AssertionError(f"{case.operation.label} answered {response.status_code} with a non-JSON body") from None
    assert isinstance(body, dict) and body, f"{case.operation.label} answered {response.status_code} with {body!r}"
    return True


CHECKS = [
    *CONFORMANCE_CHECKS,
    # Stateful: a created object is there until deleted, and gone after.
    use_after_free,
    ensure_resource_availability,
    error_bodies_follow_the_contract,
]


# The chains run over the alerting core's objects: spread over every endpoint,
# the same scenarios would reach too few of these to show links are followed.
# The rest (runbooks, on-call, checklists, evidence, reports, silence previews
# and early ends) are each called on a live object below (LIVE_CALLS).
CORE = r"^/api/v1/(alerts|incidents|rules|silences|channels)/(?!.*(checklists|evidence|report|preview|expire))"


def test_the_schema_links_every_id_taking_operation_to_a_producer(api_schema):
    workflow = api_schema.include(path_regex=CORE).as_state_machine()
    linked = {name.split(" -> ")[0] for name in workflow.bundles}  # producers whose answers feed later calls
    creates = {"POST /api/v1/alerts/", "POST /api/v1/incidents/", "POST /api/v1/rules/", "POST /api/v1/silences/"}
    assert creates <= linked
    assert api_schema.operations_with_incoming_links() >= ID_TAKING & CORE_ID_TAKING


def test_chains_of_calls_on_created_objects_never_fail_and_answer_within_the_schema(api_schema, api_key):
    answers = defaultdict(set)  # operation -> statuses seen

    class Workflow(api_schema.include(path_regex=CORE).as_state_machine()):  # type: ignore[misc]  # a class schemathesis builds
        # Each scenario starts from the same empty database: hypothesis
        # replays scenarios and refuses ones whose answers (201 or 200, and so
        # which links are open) depend on what an earlier scenario left behind.
        def setup(self):
            self.savepoint = transaction.savepoint()

        def teardown(self):
            transaction.savepoint_rollback(self.savepoint)
            super().teardown()

        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Token {api_key}"}}

        def after_call(self, response, case):
            super().after_call(response, case)
            answers[case.operation.label].add(response.status_code)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs or None, recorder=self.recorder)

    Workflow.run(
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
    )

    # An id-taking operation reached an object that exists when it got a
    # success, or the 409 of an illegal move (a random id can only
    # be a 404, and most views check the body before the lookup). Attaching
    # alerts looks the incident up first, and its body's alert ids are never
    # linked, so there a 400 naming unknown alerts is the proof.
    reached = {
        label for label, statuses in answers.items() if any(200 <= code < 300 or code == 409 for code in statuses)
    }
    if 400 in answers["POST /api/v1/incidents/{id}/alerts/"]:
        reached.add("POST /api/v1/incidents/{id}/alerts/")
    # Which calls random bodies get past validation to a live object, and so
    # which of them the run reaches, varies with the ids earlier tests left
    # in the sequences (derandomized choices meet different answers): every
    # one of them is called on a live object for certain in the test below.
    # Here, the proof that links were followed: random ids could reach none.
    assert len(reached & CORE_ID_TAKING) >= len(CORE_ID_TAKING) * 2 // 3, sorted(CORE_ID_TAKING - reached)


# Each id-taking operation with a valid body, on an object of its kind the test just created.
LIVE_CALLS = {
    "GET /api/v1/alerts/{id}/": ("alert", None),
    "PATCH /api/v1/alerts/{id}/": ("alert", {"title": "renamed"}),
    "DELETE /api/v1/alerts/{id}/": ("alert", None),
    "POST /api/v1/alerts/{id}/acknowledge/": ("alert", {}),
    "POST /api/v1/alerts/{id}/resolve/": ("alert", {"resolution": "fixed"}),
    "GET /api/v1/alerts/{id}/timeline/": ("alert", None),
    "GET /api/v1/incidents/{id}/": ("incident", None),
    "PATCH /api/v1/incidents/{id}/": ("incident", {"summary": "rolled back"}),
    "POST /api/v1/incidents/{id}/alerts/": ("incident", {"alerts": ["alert"]}),
    "POST /api/v1/incidents/{id}/notes/": ("incident", {"text": "paged the DBA"}),
    "GET /api/v1/incidents/{id}/timeline/": ("incident", None),
    "GET /api/v1/rules/{id}/": ("rule", None),
    "PATCH /api/v1/rules/{id}/": ("rule", {"threshold": 95}),
    "DELETE /api/v1/rules/{id}/": ("rule", None),
    "GET /api/v1/silences/{id}/": ("silence", None),
    "DELETE /api/v1/silences/{id}/": ("silence", None),
    "GET /api/v1/channels/{id}/": ("channel", None),
    "PATCH /api/v1/channels/{id}/": ("channel", {"enabled": False}),
    "DELETE /api/v1/channels/{id}/": ("channel", None),
    "POST /api/v1/channels/{id}/test/": ("channel", None),
    "POST /api/v1/silences/{id}/expire/": ("silence", {}),
    "GET /api/v1/incidents/{id}/checklists/": ("incident", None),
    "POST /api/v1/incidents/{id}/checklists/": ("incident", {"runbook": "{runbook}"}),
    "POST /api/v1/incidents/{id}/checklists/{checklist}/steps/{number}/tick/": ("checklist", {}),
    "GET /api/v1/incidents/{id}/evidence/": ("incident", None),
    "POST /api/v1/incidents/{id}/evidence/": ("incident_with_series", {"minutes": 15}),
    "GET /api/v1/incidents/{id}/report.md": ("incident", None),
    "GET /api/v1/runbooks/{id}/": ("runbook", None),
    "PATCH /api/v1/runbooks/{id}/": ("runbook", {"category": "storage"}),
    "DELETE /api/v1/runbooks/{id}/": ("runbook", None),
    "GET /api/v1/oncall/schedules/{id}/": ("schedule", None),
    "PATCH /api/v1/oncall/schedules/{id}/": ("schedule", {"name": "renamed"}),
    "DELETE /api/v1/oncall/schedules/{id}/": ("schedule", None),
    "GET /api/v1/oncall/schedules/{id}/shifts/": ("schedule", None),
    "GET /api/v1/oncall/layers/{id}/": ("layer", None),
    "PATCH /api/v1/oncall/layers/{id}/": ("layer", {"name": "renamed"}),
    "DELETE /api/v1/oncall/layers/{id}/": ("layer", None),
    "GET /api/v1/oncall/overrides/{id}/": ("override", None),
    "PATCH /api/v1/oncall/overrides/{id}/": ("override", {"ends_at": "2099-01-01T00:00:00Z"}),
    "DELETE /api/v1/oncall/overrides/{id}/": ("override", None),
    "GET /api/v1/oncall/contact-methods/{id}/": ("contact_method", None),
    "PATCH /api/v1/oncall/contact-methods/{id}/": ("contact_method", {"label": "renamed"}),
    "DELETE /api/v1/oncall/contact-methods/{id}/": ("contact_method", None),
    "POST /api/v1/oncall/contact-methods/{id}/test/": ("contact_method", {}),
    "GET /api/v1/oncall/notification-rules/{id}/": ("notification_rule", None),
    "PATCH /api/v1/oncall/notification-rules/{id}/": ("notification_rule", {"delay_minutes": 10}),
    "DELETE /api/v1/oncall/notification-rules/{id}/": ("notification_rule", None),
    "GET /api/v1/oncall/policies/{id}/": ("policy", None),
    "PATCH /api/v1/oncall/policies/{id}/": ("policy", {"repeat": 2}),
    "DELETE /api/v1/oncall/policies/{id}/": ("policy", None),
    "GET /api/v1/oncall/feeds/{id}/": ("feed", None),
    "DELETE /api/v1/oncall/feeds/{id}/": ("feed", None),
}
EVIDENCE_SERIES = {"host": "evidence-1"}
CREATE = {
    "alert": ("/api/v1/alerts/", {"source": "web-1", "title": "disk full"}),
    "incident": ("/api/v1/incidents/", {"title": "site down"}),
    # Its alert is about a series (EVIDENCE_SERIES), so it has evidence to capture.
    "incident_with_series": ("/api/v1/incidents/", {"title": "disk filling", "alerts": ["{alert_with_series}"]}),
    "alert_with_series": ("/api/v1/alerts/", {"source": "db-1", "title": "disk", "labels": {"host": "evidence-1"}}),
    "rule": (
        "/api/v1/rules/",
        {
            "name": "cpu high",
            "metric": "cpu_percent",
            "operator": ">",
            "threshold": 90,
            "for_seconds": 60,
            "severity": "warning",
            "category": "cpu",
            "title": "CPU high",
        },
    ),
    "silence": (
        "/api/v1/silences/",
        {"matchers": {"host": "web-1"}, "ends_at": "2099-01-01T00:00:00Z", "comment": "maint"},
    ),
    "channel": ("/api/v1/channels/", {"name": "on-call", "kind": "email", "emails": "oncall@example.com"}),
    "runbook": ("/api/v1/runbooks/", {"title": "Disk full", "body": "1. Free space\n2. Tell the channel"}),
    "schedule": ("/api/v1/oncall/schedules/", {"name": "primary", "time_zone": "Europe/Berlin"}),
    "layer": (
        "/api/v1/oncall/layers/",
        {
            "schedule": "{schedule}",
            "name": "weekly",
            "starts_on": "2026-03-02",
            "handoff_time": "09:00",
            "users": ["{user}"],
        },
    ),
    "override": (
        "/api/v1/oncall/overrides/",
        {
            "schedule": "{schedule}",
            "user": "{user}",
            "starts_at": "2026-03-06T18:00:00Z",
            "ends_at": "2026-03-07T06:00:00Z",
        },
    ),
    "feed": ("/api/v1/oncall/feeds/", {"schedule": "{schedule}"}),
    "contact_method": (
        "/api/v1/oncall/contact-methods/",
        {"user": "{user}", "label": "mail", "kind": "email", "emails": "bo@example.com"},
    ),
    "notification_rule": (
        "/api/v1/oncall/notification-rules/",
        {"severity": "critical", "contact_method": "{contact_method}", "delay_minutes": 5},
    ),
    "policy": ("/api/v1/oncall/policies/", {"name": "db", "steps": [{"target": "users", "users": ["{user}"]}]}),
}


def test_live_calls_cover_every_id_taking_operation(api_schema):
    operations = {result.ok().label for result in api_schema.get_all_operations()}
    assert set(LIVE_CALLS) == ID_TAKING == {label for label in operations if "{id}" in label}


@pytest.mark.parametrize("label", sorted(LIVE_CALLS))
def test_every_id_taking_operation_on_a_live_object_succeeds_within_the_schema(api_schema, api_key, label):
    kind, body = LIVE_CALLS[label]
    headers = {"Authorization": f"Token {api_key}"}

    def filled(value):
        """A body with each "{kind}" made a fresh object of that kind ("{user}" a user)."""
        if isinstance(value, dict):
            return {key: filled(item) for key, item in value.items()}
        if isinstance(value, list):
            return [filled(item) for item in value]
        if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
            return make_user().pk if value == "{user}" else create(value[1:-1])
        return value

    def create(kind):
        path, data = CREATE[kind]
        response = (
            api_schema[path]["POST"].Case(body=filled(data), media_type="application/json", headers=headers).call()
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]

    Series.objects.get_or_create(name="disk_used_percent", tags=EVIDENCE_SERIES, tags_key=tags_key(EVIDENCE_SERIES))
    if body and body.get("alerts") == ["alert"]:
        body = {"alerts": [create("alert")]}
    method, path = label.split(" ", 1)
    if kind == "checklist":  # a step of a checklist an incident runs
        incident = create("incident")
        started = api_schema["/api/v1/incidents/{id}/checklists/"]["POST"].Case(
            path_parameters={"id": incident},
            body={"runbook": create("runbook")},
            media_type="application/json",
            headers=headers,
        )
        path_parameters = {"id": incident, "checklist": started.call().json()["id"], "number": 1}
    else:
        path_parameters = {"id": create(kind)}
    case = api_schema[path][method].Case(
        path_parameters=path_parameters,
        headers=headers,
        **({} if body is None else {"body": filled(body), "media_type": "application/json"}),
    )
    response = case.call_and_validate(checks=CHECKS)
    assert 200 <= response.status_code < 300, (label, response.status_code, response.text)
