"""Rule evaluation: fire after for_seconds, resolve when the value drops, stale series, no double fire."""

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from alerts.models import Alert, AlertEvent, AlertRule, EventKind
from alerts.rules import evaluate_rules
from metrics.points import Point, tags_key
from metrics.services import ingest_points


def report(value, at, host="web-1"):
    tags = {"host": host}
    ingest_points([Point("cpu_percent", tags_key(tags), tags, at, value)])


def make_rule(**fields):
    values = {
        "name": "High CPU",
        "metric": "cpu_percent",
        "tags": {"host": "web-1"},
        "operator": ">",
        "threshold": 90,
        "for_seconds": 60,
        "severity": "critical",
        "category": "cpu",
        "title": "CPU on {host} at {value}%",
    }
    return AlertRule.objects.create(**{**values, **fields})


@pytest.mark.django_db
def test_a_rule_fires_only_after_the_condition_held_for_for_seconds():
    rule = make_rule()
    start = timezone.now()
    report(95, start)
    assert evaluate_rules(now=start)["fired"] == 0
    report(96, start + timedelta(seconds=30))
    assert evaluate_rules(now=start + timedelta(seconds=30))["fired"] == 0
    report(97, start + timedelta(seconds=61))
    assert evaluate_rules(now=start + timedelta(seconds=61))["fired"] == 1
    alert = Alert.objects.get(rule=rule)
    assert alert.status == "firing" and alert.title == "CPU on web-1 at 97%"
    assert alert.value == 97 and alert.threshold == 90 and alert.labels == {"host": "web-1"}


@pytest.mark.django_db
def test_a_dip_restarts_the_for_seconds_clock():
    make_rule()
    start = timezone.now()
    report(95, start)
    evaluate_rules(now=start)
    report(50, start + timedelta(seconds=40))
    evaluate_rules(now=start + timedelta(seconds=40))
    report(95, start + timedelta(seconds=70))
    assert evaluate_rules(now=start + timedelta(seconds=70))["fired"] == 0


@pytest.mark.django_db
def test_the_alert_resolves_by_the_rule_when_the_value_drops():
    make_rule(for_seconds=0)
    now = timezone.now()
    report(99, now)
    evaluate_rules(now=now)
    report(40, now + timedelta(seconds=10))
    assert evaluate_rules(now=now + timedelta(seconds=10))["resolved"] == 1
    alert = Alert.objects.get()
    assert alert.status == "resolved" and alert.resolved_by == "rule:High CPU"
    assert "no longer > 90" in alert.resolution


@pytest.mark.django_db
def test_a_series_that_stops_reporting_resolves_as_stale(settings):
    settings.OPSCONSOLE_STALE_SECONDS = 120
    make_rule(for_seconds=0)
    now = timezone.now()
    report(99, now)
    evaluate_rules(now=now)
    assert evaluate_rules(now=now + timedelta(seconds=121))["stale"] == 1
    assert Alert.objects.get().resolution.startswith("Stale:")


@pytest.mark.django_db
def test_rules_only_match_their_tags_and_disabled_rules_do_nothing():
    make_rule(for_seconds=0)
    make_rule(name="Off", for_seconds=0, enabled=False, tags={})
    now = timezone.now()
    report(99, now, host="web-2")
    assert evaluate_rules(now=now)["fired"] == 0


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_evaluations_never_double_fire():
    make_rule(for_seconds=0)
    report(99, timezone.now())
    barrier = threading.Barrier(2)
    results = []

    def evaluate():
        try:
            barrier.wait(timeout=10)
            results.append(evaluate_rules())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=evaluate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(result["fired"] for result in results) == 1
    assert Alert.objects.count() == 1
    assert AlertEvent.objects.filter(kind=EventKind.ALERT_FIRED).count() == 1
    assert AlertEvent.objects.filter(kind=EventKind.ALERT_UPDATED).count() == 0


@pytest.mark.django_db
def test_a_cycle_costs_a_fixed_number_of_queries(django_assert_max_num_queries):
    for number in range(20):
        make_rule(name=f"rule {number}", threshold=1000, tags={"host": f"web-{number}"})
    now = timezone.now()
    for number in range(20):
        report(5, now, host=f"web-{number}")
    with django_assert_max_num_queries(8):
        assert evaluate_rules(now=now)["series"] == 20
