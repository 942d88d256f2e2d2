"""Who is on call, over REST and iCal: the same shifts as the calendar."""

from datetime import UTC, date, datetime, time

import icalendar
import pytest
import time_machine
from rest_framework.test import APIClient

from oncall.models import Override
from oncall.tests.factories import make_schedule
from tests.factories import make_user

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def api():
    client = APIClient()
    client.force_authenticate(make_user(staff=True))
    return client


@pytest.fixture
def team():
    return [make_user(username="ana"), make_user(username="bo")]


@time_machine.travel(NOW, tick=False)
def test_now_and_next_are_the_calendars_current_and_following_shifts(api, team):
    schedule = make_schedule(team, time_zone="Europe/Berlin", starts_on=date(2026, 3, 2), handoff=time(9, 0))
    shifts = api.get(f"/api/v1/oncall/schedules/{schedule.pk}/shifts/", {"start": "2026-03-20T00:00:00Z"}).json()
    current = next(s for s in shifts if s["start"] <= "2026-03-25T12:00:00Z" < s["end"])
    following = shifts[shifts.index(current) + 1]

    row = next(r for r in api.get("/api/v1/oncall/").json() if r["id"] == schedule.pk)

    assert row["now"]["username"] == current["username"] == "bo"
    assert row["now"]["start"] == current["start"] == "2026-03-23T08:00:00Z"
    assert row["now"]["end"] == current["end"] == following["start"] == "2026-03-30T07:00:00Z"  # after the DST change
    assert row["next"]["username"] == following["username"] == "ana"
    assert row["next"]["end"] == following["end"]


@time_machine.travel(NOW, tick=False)
def test_an_override_is_who_is_on_call_now(api, team):
    schedule = make_schedule(team, starts_on=date(2026, 3, 2))
    cy = make_user(username="cy")
    body = {
        "schedule": schedule.pk,
        "user": cy.pk,
        "starts_at": "2026-03-25T10:00:00Z",
        "ends_at": "2026-03-25T18:00:00Z",
    }
    assert api.post("/api/v1/oncall/overrides/", body, format="json").status_code == 201

    row = next(r for r in api.get("/api/v1/oncall/").json() if r["id"] == schedule.pk)

    assert (row["now"]["username"], row["now"]["override"], row["now"]["end"]) == ("cy", True, "2026-03-25T18:00:00Z")
    assert row["next"]["username"] == "bo"  # the layer resumes
    assert Override.objects.count() == 1


def test_an_override_that_ends_before_it_starts_is_refused(api, team):
    schedule = make_schedule(team)
    body = {
        "schedule": schedule.pk,
        "user": team[0].pk,
        "starts_at": "2026-03-25T10:00:00Z",
        "ends_at": "2026-03-25T09:00:00Z",
    }
    answer = api.post("/api/v1/oncall/overrides/", body, format="json")
    assert answer.status_code == 400
    assert "ends_at" in answer.json()


def test_a_layer_with_an_unknown_field_or_bad_zone_is_refused(api, team):
    schedule = make_schedule(team)
    layer = {
        "schedule": schedule.pk,
        "name": "x",
        "starts_on": "2026-03-02",
        "handoff_time": "09:00",
        "users": [team[0].pk],
    }
    assert api.post("/api/v1/oncall/layers/", {**layer, "members": []}, format="json").json() == {
        "members": ["Unknown field."]
    }
    answer = api.post("/api/v1/oncall/schedules/", {"name": "s", "time_zone": "Mars/Olympus"}, format="json")
    assert answer.status_code == 400 and "time_zone" in answer.json()


@time_machine.travel(NOW, tick=False)
def test_the_ical_feed_parses_and_lists_the_same_shifts_as_the_api(api, client, team):
    schedule = make_schedule(team, time_zone="Europe/Berlin", starts_on=date(2026, 3, 2))
    created = api.post("/api/v1/oncall/feeds/", {"schedule": schedule.pk}, format="json").json()
    window = {"start": "2026-03-11T12:00:00Z", "end": "2026-06-23T12:00:00Z"}  # the feed's: 14 days back, 90 ahead
    shifts = api.get(f"/api/v1/oncall/schedules/{schedule.pk}/shifts/", window).json()

    answer = client.get(created["url"].removeprefix("http://testserver"))

    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/calendar")
    events = icalendar.Calendar.from_ical(answer.content).walk("VEVENT")
    listed = [
        (e.decoded("dtstart").astimezone(UTC), e.decoded("dtend").astimezone(UTC), str(e["summary"])) for e in events
    ]
    expected = [
        (
            datetime.fromisoformat(s["start"]),
            datetime.fromisoformat(s["end"]),
            f"{s['username']} on call ({schedule.name})",
        )
        for s in shifts
    ]
    assert len(expected) > 10
    assert listed == expected


@time_machine.travel(NOW, tick=False)
def test_a_persons_feed_lists_only_their_shifts(api, client, team):
    make_schedule(team, starts_on=date(2026, 3, 2))
    created = api.post("/api/v1/oncall/feeds/", {"user": team[0].pk}, format="json").json()
    events = icalendar.Calendar.from_ical(client.get(created["url"].removeprefix("http://testserver")).content).walk(
        "VEVENT"
    )
    assert events and all(str(e["summary"]).startswith("ana on call") for e in events)


def test_a_feed_with_a_wrong_key_is_not_found_and_the_key_is_not_stored(api, client, team):
    schedule = make_schedule(team)
    created = api.post("/api/v1/oncall/feeds/", {"schedule": schedule.pk}, format="json").json()
    key = created["url"].rsplit("/", 1)[1].removesuffix(".ics")
    from oncall.models import CalendarFeed

    assert key not in str(list(CalendarFeed.objects.values_list()))
    assert client.get(f"/oncall/feeds/{key[:-2]}xx.ics").status_code == 404
    assert "url" not in api.get(f"/api/v1/oncall/feeds/{created['id']}/").json()
