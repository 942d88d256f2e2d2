"""Recurring maintenance windows: silence during each window, notify still-firing alerts when it ends."""

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError

from alerts import services
from alerts.models import Delivery, NotificationChannel, Silence
from alerts.notifications import deliver_notifications
from alerts.tests.factories import make_alert
from alerts.windows import in_window

MONDAY = 0
# Monday 7 December 2026, 02:30 in Amsterdam (UTC+1): inside a Monday 02:00-04:00 window.
INSIDE = datetime(2026, 12, 7, 1, 30, tzinfo=UTC)


def weekly_window(**fields):
    values = {
        "matchers": {"host": "db-1"},
        "starts_at": datetime(2026, 12, 1, tzinfo=UTC),
        "ends_at": datetime(2027, 12, 1, tzinfo=UTC),
        "comment": "weekly patching",
        "created_by": "alice",
        "repeat_days": [MONDAY],
        "repeat_start": time(2, 0),
        "repeat_duration": 2 * 3600,
        "timezone": "Europe/Amsterdam",
    }
    return Silence.objects.create(**(values | fields))


@pytest.mark.django_db(transaction=True)
def test_a_recurring_window_silences_and_when_it_ends_notifies_a_still_firing_alert():
    NotificationChannel.objects.create(name="mail", kind="email", emails="oncall@example.com")
    weekly_window()
    with time_machine.travel(INSIDE, tick=False) as clock:
        alert = make_alert(labels={"host": "db-1"})
        assert alert.silenced and Delivery.objects.count() == 0
        clock.move_to(INSIDE + timedelta(minutes=89))  # 03:59 local: still inside
        assert services.apply_silences() == {"silenced": 0, "unsilenced": 0}
        clock.move_to(INSIDE + timedelta(minutes=91))  # 04:01 local: the window has ended
        assert services.apply_silences() == {"silenced": 0, "unsilenced": 1}
        assert deliver_notifications() == {"sent": 1}
        assert mail.outbox[0].subject.startswith("[warning] FIRING (its silence ended):")
        clock.move_to(INSIDE + timedelta(days=7))  # next Monday's window quiets it again
        assert services.apply_silences() == {"silenced": 1, "unsilenced": 0}


def test_outside_its_weekdays_a_window_is_not_active():
    tuesday = INSIDE + timedelta(days=1)
    assert in_window(INSIDE, [MONDAY], time(2, 0), 7200, "Europe/Amsterdam")
    assert not in_window(tuesday, [MONDAY], time(2, 0), 7200, "Europe/Amsterdam")


def test_a_window_past_midnight_belongs_to_the_day_it_opens():
    sunday_2330_utc = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)  # Monday 00:30 in Amsterdam
    assert in_window(sunday_2330_utc + timedelta(hours=1), [6], time(23, 0), 3 * 3600, "UTC")
    assert not in_window(sunday_2330_utc + timedelta(hours=3), [6], time(23, 0), 3 * 3600, "UTC")


def test_the_window_keeps_its_local_time_across_daylight_saving():
    # Amsterdam: 02:00 local is 01:00 UTC in winter and 00:00 UTC in summer.
    winter = datetime(2026, 12, 7, 1, 15, tzinfo=UTC)
    summer = datetime(2026, 6, 1, 0, 15, tzinfo=UTC)  # also a Monday
    for moment in (winter, summer):
        assert in_window(moment, [MONDAY], time(2, 0), 1800, "Europe/Amsterdam")
    assert not in_window(datetime(2026, 6, 1, 1, 15, tzinfo=UTC), [MONDAY], time(2, 0), 1800, "Europe/Amsterdam")


@pytest.mark.django_db
def test_a_half_given_recurrence_or_unknown_time_zone_is_refused():
    silence = Silence(matchers={"a": "1"}, ends_at=INSIDE, comment="x", created_by="a", repeat_days=[MONDAY])
    with pytest.raises(ValidationError) as refused:
        silence.full_clean()
    assert set(refused.value.message_dict) == {"repeat_start", "repeat_duration"}
    silence.repeat_start, silence.repeat_duration, silence.timezone = time(2), 3600, "Mars/Olympus"
    with pytest.raises(ValidationError) as refused:
        silence.full_clean()
    assert set(refused.value.message_dict) == {"timezone"}


def post_silence(token, **changes):
    from rest_framework.test import APIClient

    body = {
        "matchers": {"host": "db-1"},
        "ends_at": "2027-12-01T00:00:00Z",
        "comment": "weekly patching",
        "repeat_days": [MONDAY],
        "repeat_start": "02:00:00",
        "repeat_duration": 7200,
        "timezone": "Europe/Amsterdam",
    }
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api.post("/api/v1/silences/", body | changes, format="json")


def test_a_recurring_window_is_made_over_rest_with_its_recurrence(staff_token):
    answer = post_silence(staff_token, repeat_days=[MONDAY, 3])
    assert answer.status_code == 201, answer.content
    silence = Silence.objects.get(pk=answer.json()["id"])
    assert (silence.repeat_days, silence.repeat_start, silence.repeat_duration, silence.timezone) == (
        [MONDAY, 3],
        time(2, 0),
        7200,
        "Europe/Amsterdam",
    )


def test_a_recurrence_over_rest_with_an_unknown_zone_is_refused_naming_it(staff_token):
    answer = post_silence(staff_token, timezone="Mars/Olympus")
    assert answer.status_code == 400
    assert "timezone" in answer.json()
    assert not Silence.objects.exists()
