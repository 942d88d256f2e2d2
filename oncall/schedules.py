"""Reading schedules out of the database into shifts: a schedule's calendar, a person's, who is on call now and next."""

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from django.utils import timezone

from oncall.models import Layer, LayerMember, Override, Schedule
from oncall.shifts import Cover, Rotation, Shift, schedule_shifts

# How far "next" looks ahead: a schedule with nobody on call for longer has no next shift.
LOOKAHEAD = timedelta(days=62)
# How far back "now" looks for the start of the shift in progress; a longer shift shows as starting then.
LOOKBACK = timedelta(days=31)


def with_layers(schedules: Any) -> Any:
    """The schedules with what computing their shifts reads, prefetched (three queries for any number)."""
    return schedules.prefetch_related(
        Prefetch(
            "layers", Layer.objects.prefetch_related(Prefetch("members", LayerMember.objects.order_by("position")))
        ),
        Prefetch("overrides", Override.objects.order_by("created_at", "id")),
    )


def shifts_of(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """The schedule's shifts over [start, end); reads its prefetched layers and overrides if there are."""
    rotations = [
        Rotation(
            key=str(layer.pk),
            level=layer.level,
            starts_on=layer.starts_on,
            handoff=layer.handoff_time,
            length_days=layer.length_days,
            users=[member.user_id for member in layer.members.all()],
        )
        for layer in schedule.layers.all()
    ]
    covers = [Cover(o.user_id, o.starts_at, o.ends_at) for o in schedule.overrides.all() if o.ends_at > start]
    return schedule_shifts(schedule.time_zone, rotations, covers, start, end)


def on_call_at(schedule: Schedule, at: datetime) -> int | None:
    """The user id on call in ``schedule`` at ``at``, or None."""
    shifts = shifts_of(schedule, at, at + timedelta(seconds=1))
    return shifts[0].user if shifts else None


def usernames(ids: Iterable[int]) -> dict[int, str]:
    return dict(get_user_model().objects.filter(pk__in=set(ids)).values_list("pk", "username"))


def shift_data(shift: Shift, names: dict[int, str], schedule: Schedule) -> dict[str, Any]:
    return {
        "schedule": schedule.pk,
        "schedule_name": schedule.name,
        "user": shift.user,
        "username": names.get(shift.user, ""),
        "start": shift.start,
        "end": shift.end,
        "override": shift.source == "override",
    }


def now_and_next(now: datetime | None = None) -> list[dict[str, Any]]:
    """Per schedule, by name: who is on call now and who takes over next, with their shifts' bounds.

    ``now`` and ``next`` are the shifts of the calendar (``shifts_of``) that
    hold ``now`` and that follow it; either may be None.
    """
    now = now or timezone.now()
    rows = []
    computed = []
    for schedule in with_layers(Schedule.objects.order_by("name")):
        shifts = shifts_of(schedule, now - LOOKBACK, now + LOOKAHEAD)
        current = next((shift for shift in shifts if shift.start <= now < shift.end), None)
        upcoming = next((shift for shift in shifts if shift.start >= now and shift is not current), None)
        computed.append((schedule, current, upcoming))
    names = usernames(shift.user for _, a, b in computed for shift in (a, b) if shift is not None)
    for schedule, current, upcoming in computed:
        rows.append(
            {
                "id": schedule.pk,
                "name": schedule.name,
                "time_zone": schedule.time_zone,
                "now": None if current is None else shift_data(current, names, schedule),
                "next": None if upcoming is None else shift_data(upcoming, names, schedule),
            }
        )
    return rows


def calendar(
    schedules: Iterable[Schedule], start: datetime, end: datetime, user_id: int | None = None
) -> list[dict[str, Any]]:
    """Every shift of ``schedules`` over [start, end) (only ``user_id``'s if given), by start."""
    pairs = [(schedule, shift) for schedule in schedules for shift in shifts_of(schedule, start, end)]
    if user_id is not None:
        pairs = [(schedule, shift) for schedule, shift in pairs if shift.user == user_id]
    pairs.sort(key=lambda pair: (pair[1].start, pair[0].name))
    names = usernames(shift.user for _, shift in pairs)
    return [shift_data(shift, names, schedule) for schedule, shift in pairs]
