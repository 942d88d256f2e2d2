"""Alertmanager/Grafana webhooks and PagerDuty Events API v2 raise, acknowledge and resolve alerts."""

import copy
import json
from typing import Any

import pytest
from django.contrib.auth.models import Permission

from alerts.models import Alert, AlertStatus
from tests.factories import make_token, make_user

pytestmark = pytest.mark.django_db

AM_URL = "/api/v1/integrations/alertmanager/"
PD_URL = "/api/v1/integrations/pagerduty/"

# A version 4 webhook payload as Alertmanager sends it, copied from
# https://docs.rs/crate/alertmanager-webhook-types/latest/source/assets/sample-v4-payload.json
# (the shape documented at https://prometheus.io/docs/alerting/latest/configuration/#webhook_config).
ALERTMANAGER_FIRING: dict[str, Any] = {
    "receiver": "sms",
    "status": "firing",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "ProbeFailure",
                "instance": "https://server.example.org",
                "job": "http_checks",
                "monitor": "master",
                "severity": "critical",
            },
            "annotations": {
                "description": "Instance https://server.example.org has been down for over 5m. Job: http_checks",
                "summary": "BlackBox Probe Failure: https://server.example.org",
            },
            "startsAt": "2023-02-06T13:08:45.828Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0\\u0026g0.tab=1",
            "fingerprint": "1a30ba71cca2921f",
        }
    ],
    "groupLabels": {"alertname": "ProbeFailure"},
    "commonLabels": {
        "alertname": "ProbeFailure",
        "instance": "https://server.example.org",
        "job": "http_checks",
        "monitor": "master",
        "severity": "critical",
    },
    "commonAnnotations": {
        "description": "Instance https://server.example.org has been down for over 5m. Job: http_checks",
        "summary": "BlackBox Probe Failure: https://server.example.org",
    },
    "externalURL": "http://prometheus.example.org:9093",
    "version": "4",
    "groupKey": '{}/{severity="critical"}:{alertname="ProbeFailure"}',
    "truncatedAlerts": 0,
}

# Grafana's webhook contact point, copied from the example JSON body at
# https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/
GRAFANA_FIRING: dict[str, Any] = {
    "receiver": "My Super Webhook",
    "status": "firing",
    "orgId": 1,
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "High memory usage", "team": "blue", "zone": "us-1"},
            "annotations": {
                "description": "The system has high memory usage",
                "runbook_url": "https://myrunbook.com/runbook/1234",
                "summary": "This alert was triggered for zone us-1",
            },
            "startsAt": "2021-10-12T09:51:03.157076+02:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://play.grafana.org/alerting/1afz29v7z/edit",
            "fingerprint": "c6eadffa33fcdf37",
            "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT2%2Cteam%3Dblue%2Czone%3Dus-1",
            "dashboardURL": "",
            "panelURL": "",
            "values": {"B": 44.23943737541908, "C": 1},
        },
        {
            "status": "firing",
            "labels": {"alertname": "High CPU usage", "team": "blue", "zone": "eu-1"},
            "annotations": {
                "description": "The system has high CPU usage",
                "runbook_url": "https://myrunbook.com/runbook/1234",
                "summary": "This alert was triggered for zone eu-1",
            },
            "startsAt": "2021-10-12T09:56:03.157076+02:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://play.grafana.org/alerting/d1rdpdv7k/edit",
            "fingerprint": "bc97ff14869b13e3",
            "silenceURL": "https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT1%2Cteam%3Dblue%2Czone%3Deu-1",
            "dashboardURL": "",
            "panelURL": "",
            "values": {"B": 44.23943737541908, "C": 1},
        },
    ],
    "groupLabels": {},
    "commonLabels": {"team": "blue"},
    "commonAnnotations": {},
    "externalURL": "https://play.grafana.org/",
    "version": "1",
    "groupKey": '{}:{alertname="High memory usage"}',
    "truncatedAlerts": 0,
    "title": "[FIRING:2]  (blue)",
    "state": "alerting",
    "message": "**Firing**\n\nLabels:\n - alertname = T2\n - team = blue\n - zone = us-1\n\nAnnotations:\n ...",
}

# PagerDuty Events API v2 trigger, from https://developer.pagerduty.com/docs/events-api-v2/trigger-events/
# (the routing key is replaced by the console's token in each test).
PAGERDUTY_TRIGGER: dict[str, Any] = {
    "payload": {
        "summary": "DISK at 99% on machine prod-datapipe03.example.com",
        "timestamp": "2015-07-17T08:42:58.315+0000",
        "severity": "critical",
        "source": "prod-datapipe03.example.com",
        "component": "mysql",
        "group": "prod-datapipe",
        "class": "disk",
        "custom_details": {"free space": "1%", "ping time": "1500ms", "load avg": 0.75},
    },
    "routing_key": "samplekeyhere",
    "dedup_key": "samplekeyhere",
    "event_action": "trigger",
    "client": "Sample Monitoring Service",
    "client_url": "https://monitoring.service.com",
    "links": [{"href": "http://pagerduty.example.com", "text": "An example link."}],
    "images": [{"src": "https://chart.googleapis.com/chart?chs=600x400", "href": "https://example.com/", "alt": "x"}],
}


def post(client, url, body, **headers):
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


def auth(key):
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


def resolved(payload):
    body = copy.deepcopy(payload)
    body["status"] = "resolved"
    for alert in body["alerts"]:
        alert["status"] = "resolved"
        alert["endsAt"] = "2023-02-06T13:20:45.828Z"
    return body


# Alertmanager


def test_an_alertmanager_firing_alert_is_raised_with_its_fingerprint_labels_and_annotations(client, staff_token):
    response = post(client, AM_URL, ALERTMANAGER_FIRING, **auth(staff_token))
    assert response.status_code == 200
    assert response.json() == {"raised": 1, "resolved": 0, "truncated": 0}
    alert = Alert.objects.get()
    assert alert.fingerprint == "1a30ba71cca2921f"
    assert alert.source == "alertmanager" and alert.severity == "critical" and alert.status == AlertStatus.FIRING
    assert alert.title == "BlackBox Probe Failure: https://server.example.org"
    assert alert.message.startswith("Instance https://server.example.org has been down")
    assert alert.labels["job"] == "http_checks" and alert.labels["alertname"] == "ProbeFailure"
    assert alert.starts_at.isoformat() == "2023-02-06T13:08:45.828000+00:00"


def test_a_repeated_firing_notification_updates_the_same_alert(client, staff_token):
    post(client, AM_URL, ALERTMANAGER_FIRING, **auth(staff_token))
    post(client, AM_URL, ALERTMANAGER_FIRING, **auth(staff_token))
    assert Alert.objects.get().occurrences == 2


def test_an_alertmanager_resolved_notification_resolves_the_alert_its_firing_one_raised(client, staff_token):
    post(client, AM_URL, ALERTMANAGER_FIRING, **auth(staff_token))
    response = post(client, AM_URL, resolved(ALERTMANAGER_FIRING), **auth(staff_token))
    assert response.json() == {"raised": 0, "resolved": 1, "truncated": 0}
    alert = Alert.objects.get()
    assert alert.status == AlertStatus.RESOLVED and alert.resolved_by == "alertmanager"


def test_a_resolved_alert_the_console_never_saw_changes_nothing(client, staff_token):
    response = post(client, AM_URL, resolved(ALERTMANAGER_FIRING), **auth(staff_token))
    assert response.status_code == 200 and response.json()["resolved"] == 0
    assert not Alert.objects.exists()


def test_without_a_fingerprint_the_labels_identify_the_alert(client, staff_token):
    body = copy.deepcopy(ALERTMANAGER_FIRING)
    del body["alerts"][0]["fingerprint"]
    post(client, AM_URL, body, **auth(staff_token))
    post(client, AM_URL, resolved(body), **auth(staff_token))
    alert = Alert.objects.get()
    assert len(alert.fingerprint) == 64 and alert.status == AlertStatus.RESOLVED


@pytest.mark.parametrize(("label", "severity"), [("critical", "critical"), ("info", "info"), ("page", "warning")])
def test_the_severity_label_is_mapped(client, staff_token, label, severity):
    body = copy.deepcopy(ALERTMANAGER_FIRING)
    body["alerts"][0]["labels"]["severity"] = label
    post(client, AM_URL, body, **auth(staff_token))
    assert Alert.objects.get().severity == severity


def test_a_grafana_notification_raises_each_alert_with_its_runbook(client, staff_token):
    response = post(client, AM_URL, GRAFANA_FIRING, **auth(staff_token))
    assert response.json() == {"raised": 2, "resolved": 0, "truncated": 0}
    memory = Alert.objects.get(fingerprint="c6eadffa33fcdf37")
    assert memory.source == "grafana" and memory.severity == "warning"
    assert memory.title == "This alert was triggered for zone us-1"
    assert memory.labels["runbook_url"] == "https://myrunbook.com/runbook/1234"
    post(client, AM_URL, resolved(GRAFANA_FIRING), **auth(staff_token))
    assert set(Alert.objects.values_list("resolved_by", flat=True)) == {"grafana"}


def test_truncated_alerts_are_reported(client, staff_token):
    body = {**ALERTMANAGER_FIRING, "truncatedAlerts": 7}
    assert post(client, AM_URL, body, **auth(staff_token)).json()["truncated"] == 7


@pytest.mark.parametrize(
    ("change", "item"),
    [
        (lambda body: body["alerts"].append({"status": "pending", "labels": {"a": "b"}}), "alerts[1].status"),
        (lambda body: body["alerts"][0]["labels"].update({"severity": 5}), "alerts[0].labels"),
        (lambda body: body["alerts"][0].update({"startsAt": "yesterday"}), "alerts[0].startsAt"),
        (lambda body: body["alerts"][0].update({"fingerprint": "a b"}), "alerts[0].fingerprint"),
        (lambda body: body.update({"alerts": {}}), "alerts"),
        (lambda body: body.update({"version": "3"}), "version"),
    ],
)
def test_a_malformed_alert_is_refused_naming_it_and_nothing_is_stored(client, staff_token, change, item):
    body = copy.deepcopy(ALERTMANAGER_FIRING)
    change(body)
    response = post(client, AM_URL, body, **auth(staff_token))
    assert response.status_code == 400
    assert response.json()["errors"][0]["item"] == item and item in response.json()["detail"]
    assert not Alert.objects.exists()


def test_alertmanager_needs_a_token_whose_user_may_add_alerts(client):
    assert post(client, AM_URL, ALERTMANAGER_FIRING).status_code == 401
    user = make_user(staff=False)
    _token, key = make_token(user)
    assert post(client, AM_URL, ALERTMANAGER_FIRING, **auth(key)).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="add_alert"))
    assert post(client, AM_URL, ALERTMANAGER_FIRING, **auth(key)).status_code == 200


# PagerDuty


def event(key, action, **changes):
    body = copy.deepcopy(PAGERDUTY_TRIGGER) if action == "trigger" else {"dedup_key": "samplekeyhere"}
    body.update(routing_key=key, event_action=action, **changes)
    return body


def test_a_trigger_acknowledge_resolve_sequence_moves_one_alert_through_its_states(client, staff_token):
    response = post(client, PD_URL, event(staff_token, "trigger"))
    assert response.status_code == 202
    assert response.json() == {"status": "success", "message": "Event processed", "dedup_key": "samplekeyhere"}
    alert = Alert.objects.get()
    assert alert.status == AlertStatus.FIRING and alert.fingerprint == "samplekeyhere"
    assert alert.title == "DISK at 99% on machine prod-datapipe03.example.com" and alert.severity == "critical"
    assert alert.labels == {
        "source": "prod-datapipe03.example.com",
        "component": "mysql",
        "group": "prod-datapipe",
        "class": "disk",
        "dedup_key": "samplekeyhere",
    }
    assert json.loads(alert.message) == {"free space": "1%", "ping time": "1500ms", "load avg": 0.75}

    assert post(client, PD_URL, event(staff_token, "acknowledge")).status_code == 202
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_by == "pagerduty"

    assert post(client, PD_URL, event(staff_token, "resolve")).status_code == 202
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED and alert.resolved_by == "pagerduty"
    assert Alert.objects.count() == 1


def test_a_trigger_without_dedup_key_gets_one_generated_and_returned(client, staff_token):
    body = event(staff_token, "trigger")
    del body["dedup_key"]
    key = post(client, PD_URL, body).json()["dedup_key"]
    assert len(key) == 32
    assert post(client, PD_URL, event(staff_token, "resolve", dedup_key=key)).status_code == 202
    assert Alert.objects.get(fingerprint=key).status == AlertStatus.RESOLVED


def test_a_long_dedup_key_is_hashed_into_the_fingerprint(client, staff_token):
    key = "service/" + "x" * 200
    post(client, PD_URL, event(staff_token, "trigger", dedup_key=key))
    alert = Alert.objects.get()
    assert len(alert.fingerprint) == 64 and alert.labels["dedup_key"] == key


@pytest.mark.parametrize(("pd", "ours"), [("error", "critical"), ("warning", "warning"), ("info", "info")])
def test_pagerduty_severities_are_mapped(client, staff_token, pd, ours):
    body = event(staff_token, "trigger")
    body["payload"]["severity"] = pd
    post(client, PD_URL, body)
    assert Alert.objects.get().severity == ours


def test_the_authorization_header_works_without_a_routing_key(client, staff_token):
    body = event("", "trigger")
    assert post(client, PD_URL, body, HTTP_AUTHORIZATION=f"Bearer {staff_token}").status_code == 202


def test_a_wrong_routing_key_is_refused_in_pagerdutys_shape(client, db):
    response = post(client, PD_URL, event("oc_not_a_token", "trigger"))
    assert response.status_code == 401
    assert response.json()["status"] == "unauthorized" and response.json()["errors"]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda body: body.update(event_action="explode"), "'event_action'"),
        (lambda body: body["payload"].pop("summary"), "'payload.summary'"),
        (lambda body: body["payload"].update(severity="fatal"), "'payload.severity'"),
        (lambda body: body["payload"].update(timestamp="noon"), "'payload.timestamp'"),
        (lambda body: body.pop("payload"), "'payload'"),
    ],
)
def test_an_invalid_event_is_refused_as_pagerduty_refuses_it(client, staff_token, change, error):
    body = event(staff_token, "trigger")
    change(body)
    response = post(client, PD_URL, body)
    assert response.status_code == 400
    answer = response.json()
    assert answer["status"] == "invalid event" and answer["message"] == "Event object is invalid"
    assert any(error in message for message in answer["errors"])
    assert not Alert.objects.exists()


def test_acknowledging_an_unknown_dedup_key_succeeds_and_changes_nothing(client, staff_token):
    assert post(client, PD_URL, event(staff_token, "acknowledge", dedup_key="nothing-here")).status_code == 202
    assert not Alert.objects.exists()


def test_pagerduty_needs_a_token_whose_user_may_add_alerts(client):
    user = make_user(staff=False)
    _token, key = make_token(user)
    assert post(client, PD_URL, event(key, "trigger")).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="add_alert"))
    assert post(client, PD_URL, event(key, "trigger")).status_code == 202
