"""An acknowledgement that expires: the alert fires again, on timeline and screens, and escalation starts over."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from alerts import services
from alerts.models import Alert, AlertEvent, AlertStatus, EventKind
from alerts.notifications import deliver_notifications
from alerts.tests.factories import make_alert
from alerts.tests.receivers import Receiver
from oncall.escalation import run_escalations
from oncall.tests.factories import make_policy, make_webhook_contact
from realtime.models import StreamEvent
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)
EXPIRED = "no resolution 30 min after acknowledgement — acknowledgement expired"


@pytest.fixture
def ana_receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def acknowledged(clock, ana_receiver):
    """A critical alert paged to ana at T0 under a policy whose acknowledgements expire after 30 min, acked at +2."""
    ana = make_user(username="ana")
    make_webhook_contact(ana, ana_receiver.url)
    make_policy([{"target": "users", "users": [ana], "wait_minutes": 5}], unacknowledge_after=30)
    alert = make_alert(severity="critical")
    run_escalations()
    deliver_notifications()
    clock.move_to(T0 + timedelta(minutes=2))
    services.acknowledge(alert.pk, "ana")
    return alert


def at(clock, minutes):
    clock.move_to(T0 + timedelta(minutes=minutes))
    counts = run_escalations()
    deliver_notifications()
    return counts


def texts(alert, *kinds):
    return list(
        AlertEvent.objects.filter(alert_id=alert.pk, kind__in=kinds).order_by("id").values_list("text", flat=True)
    )


def test_an_acknowledgement_expires_after_the_timeout_and_escalation_restarts_from_step_1(
    clock, acknowledged, ana_receiver
):
    version = Alert.objects.get(pk=acknowledged.pk).version

    counts = at(clock, 32)

    alert = Alert.objects.get(pk=acknowledged.pk)
    assert counts["unacknowledged"] == 1
    assert (alert.status, alert.acknowledged_at, alert.acknowledged_by) == (AlertStatus.FIRING, None, "")
    assert alert.version == version + 1
    assert texts(alert, EventKind.ALERT_UNACKNOWLEDGED) == [EXPIRED]
    steps = texts(alert, EventKind.ESCALATION_STEP)
    assert len(steps) == 2 and steps[-1].startswith("escalating by ") and steps[-1].endswith("paging ana")
    # Paged at T0 and again after the expiry: step 1 twice.
    assert [event for _, event in ana_receiver.events()] == ["alert.fired", "alert.acknowledged", "alert.fired"]
    pushed = StreamEvent.objects.filter(type="alert").order_by("-id").values_list("data", flat=True)
    assert pushed[0]["status"] == "firing" and pushed[0]["version"] == alert.version


def test_an_acknowledgement_holds_until_the_timeout(clock, acknowledged, ana_receiver):
    counts = at(clock, 31)  # acked at +2: expires at +32

    assert counts.get("unacknowledged", 0) == 0
    assert Alert.objects.get(pk=acknowledged.pk).status == AlertStatus.ACKNOWLEDGED
    assert [event for _, event in ana_receiver.events()] == ["alert.fired", "alert.acknowledged"]


def test_a_resolved_alert_never_fires_again(clock, acknowledged, ana_receiver):
    clock.move_to(T0 + timedelta(minutes=10))
    services.resolve(acknowledged.pk, "ana")

    at(clock, 60)

    assert Alert.objects.get(pk=acknowledged.pk).status == AlertStatus.RESOLVED
    assert texts(acknowledged, EventKind.ALERT_UNACKNOWLEDGED) == []
    assert [event for _, event in ana_receiver.events()] == ["alert.fired", "alert.acknowledged", "alert.resolved"]
