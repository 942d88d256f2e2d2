"""The escalation engine: steps in order after their waits, repeats, and silence the moment someone answers."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from alerts import services
from alerts.models import AlertEvent, Delivery, EventKind
from alerts.notifications import deliver_notifications
from alerts.tests.factories import make_alert
from alerts.tests.receivers import Receiver
from oncall.escalation import run_escalations
from oncall.models import Escalation, NotificationRule
from oncall.tests.factories import make_policy, make_schedule, make_webhook_contact
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def receivers():
    made = {"ana": Receiver(), "bo": Receiver()}
    yield made
    for receiver in made.values():
        receiver.close()


@pytest.fixture
def team(receivers):
    people = {name: make_user(username=name) for name in receivers}
    for name, user in people.items():
        make_webhook_contact(user, receivers[name].url)
    return people


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def at(clock, minutes):
    """Move the clock to T0 + ``minutes``, run one engine pass and send what it queued."""
    clock.move_to(T0 + timedelta(minutes=minutes))
    counts = run_escalations()
    deliver_notifications()
    return counts


def pages(receivers):
    return {name: [event for _, event in receiver.events()] for name, receiver in receivers.items()}


def two_steps(team, repeat=0):
    return make_policy(
        [
            {"target": "users", "users": [team["ana"]], "wait_minutes": 5},
            {"target": "users", "users": [team["bo"]], "wait_minutes": 5},
        ],
        repeat=repeat,
    )


def timeline(alert):
    kinds = (EventKind.ESCALATION_STEP, EventKind.ESCALATION_PAGE, EventKind.ESCALATION_STOPPED)
    return list(
        AlertEvent.objects.filter(alert_id=alert.pk, kind__in=kinds).order_by("id").values_list("text", flat=True)
    )


def test_an_unacknowledged_critical_alert_pages_step_1_then_step_2_after_the_wait_then_repeats(clock, team, receivers):
    two_steps(team, repeat=1)
    alert = make_alert(severity="critical")

    at(clock, 0)
    assert pages(receivers) == {"ana": ["alert.fired"], "bo": []}
    at(clock, 4)
    assert pages(receivers) == {"ana": ["alert.fired"], "bo": []}  # still waiting
    at(clock, 5)
    assert pages(receivers) == {"ana": ["alert.fired"], "bo": ["alert.fired"]}
    at(clock, 10)
    at(clock, 15)
    assert pages(receivers) == {"ana": ["alert.fired"] * 2, "bo": ["alert.fired"] * 2}  # one repeat
    at(clock, 20)
    at(clock, 60)
    assert pages(receivers) == {"ana": ["alert.fired"] * 2, "bo": ["alert.fired"] * 2}
    assert Escalation.objects.get(alert=alert).state == "done"
    run_escalations()  # the last outcomes onto the timeline
    lines = timeline(alert)
    assert lines[:3] == [
        f"escalating by {alert.escalation.policy.name}: paging ana",
        "paged ana by webhook — delivered",
        "no acknowledgement after 5 min — paging bo",
    ]
    assert "no acknowledgement after 5 min — paging ana (repeat 1 of 1)" in lines
    assert "no acknowledgement after 5 min — every step taken, escalation ended" in lines


def test_acknowledgement_stops_escalation_even_with_the_next_step_already_due(clock, team, receivers):
    two_steps(team)
    alert = make_alert(severity="critical")
    at(clock, 0)
    clock.move_to(T0 + timedelta(minutes=7))  # step 2 became due two minutes ago; no pass has run since
    services.acknowledge(alert.pk, "ana")

    at(clock, 7)
    at(clock, 30)

    assert pages(receivers) == {"ana": ["alert.fired", "alert.acknowledged"], "bo": []}
    assert Escalation.objects.get(alert=alert).state == "done"
    assert "escalation stopped: acknowledged" in timeline(alert)


def test_a_personal_rules_later_page_is_not_sent_after_the_acknowledgement(clock, team, receivers):
    two_steps(team)
    sms = Receiver()
    try:
        later = make_webhook_contact(team["ana"], sms.url, label="sms")
        first = team["ana"].contact_methods.get(label="webhook")
        NotificationRule.objects.create(user=team["ana"], severity="critical", contact_method=first, delay_minutes=0)
        NotificationRule.objects.create(user=team["ana"], severity="critical", contact_method=later, delay_minutes=3)
        alert = make_alert(severity="critical")
        at(clock, 0)
        at(clock, 2)
        services.acknowledge(alert.pk, "ana")
        at(clock, 3)
        at(clock, 10)
        assert pages(receivers)["ana"] == ["alert.fired", "alert.acknowledged"]
        assert sms.events() == []
    finally:
        sms.close()


def test_a_personal_rule_pages_again_by_another_method_after_its_delay(clock, team, receivers):
    make_policy([{"target": "users", "users": [team["ana"]], "wait_minutes": 30}])
    sms = Receiver()
    try:
        later = make_webhook_contact(team["ana"], sms.url, label="sms")
        first = team["ana"].contact_methods.get(label="webhook")
        NotificationRule.objects.create(user=team["ana"], severity="critical", contact_method=first, delay_minutes=0)
        NotificationRule.objects.create(user=team["ana"], severity="critical", contact_method=later, delay_minutes=5)
        alert = make_alert(severity="critical")
        at(clock, 0)
        assert sms.events() == []
        at(clock, 5)
        assert sms.events() == [(alert.pk, "alert.fired")]
        run_escalations()
        assert "paged ana by sms — delivered" in timeline(alert)
    finally:
        sms.close()


def test_a_resolved_alert_stops_escalating_and_everyone_paged_hears_the_resolution(clock, team, receivers):
    two_steps(team)
    alert = make_alert(severity="critical")
    at(clock, 0)
    at(clock, 5)
    services.resolve(alert.pk, "bo", "fixed")
    at(clock, 6)
    at(clock, 30)

    assert pages(receivers) == {"ana": ["alert.fired", "alert.resolved"], "bo": ["alert.fired", "alert.resolved"]}
    assert "escalation stopped: resolved" in timeline(alert)


def test_the_schedules_on_call_is_paged(clock, team, receivers):
    schedule = make_schedule([team["bo"], team["ana"]], starts_on=T0.date() - timedelta(days=1), handoff=T0.time())
    make_policy([{"target": "schedule", "schedule": schedule, "wait_minutes": 5}])
    make_alert(severity="warning")
    at(clock, 0)
    assert pages(receivers) == {"ana": [], "bo": ["alert.fired"]}


def test_the_first_matching_policy_by_position_wins_over_the_default(clock, team, receivers):
    two_steps(team)  # the default pages ana first
    make_policy(
        [{"target": "users", "users": [team["bo"]], "wait_minutes": 5}],
        is_default=False,
        matchers={"team": "db"},
        severities=["critical"],
    )
    make_alert(severity="critical", labels={"team": "db"})
    at(clock, 0)
    assert pages(receivers) == {"ana": [], "bo": ["alert.fired"]}


def test_a_down_contact_method_is_reported_and_the_escalation_goes_on(clock, team, receivers):
    two_steps(team)
    receivers["ana"].answer = lambda receiver, number, headers, body: (410, {})  # gone: not retried
    alert = make_alert(severity="critical")
    at(clock, 0)
    at(clock, 5)
    assert pages(receivers)["bo"] == ["alert.fired"]
    run_escalations()
    assert any(line.startswith("paged ana by webhook — failed") for line in timeline(alert))
    assert Delivery.objects.filter(status="failed").count() == 1
