"""Who is on call when: a schedule's layers and overrides flattened into shifts. Pure; no database.

Hand-offs happen at a wall-clock time in the schedule's zone (``zoneinfo``):
a weekly rotation handing over Mondays at 09:00 Europe/Berlin does so at
09:00 local on both sides of a daylight-saving change, so that shift is an
hour shorter or longer in absolute time. Every moment is converted to UTC at
once: aware datetimes sharing one tzinfo compare by wall clock, not instant.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

OVERRIDE = "override"


@dataclass(frozen=True)
class Rotation:
    """One layer: ``users`` take turns of ``length_days`` from ``starts_on`` at ``handoff``."""

    key: str  # names the layer in the shifts it makes
    level: int
    starts_on: date
    handoff: time
    length_days: int
    users: Sequence[int]


@dataclass(frozen=True)
class Cover:
    """An override: ``user`` on call over every layer from ``start`` to ``end``."""

    user: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Shift:
    user: int
    start: datetime  # UTC
    end: datetime  # UTC
    source: str  # the layer's key, or "override"


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    # A hand-off inside a spring-forward gap lands just after it (fold=0 reads the old offset).
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def rotation_shifts(rotation: Rotation, zone: ZoneInfo, start: datetime, end: datetime) -> list[Shift]:
    """The rotation's shifts that overlap [start, end), whole (not clipped), in order."""
    if not rotation.users or rotation.length_days < 1:
        return []
    length = rotation.length_days
    first_local_day = start.astimezone(zone).date()
    # The turn that began on or before `start`: count whole turns from the rotation's first day.
    turn = max(0, (first_local_day - rotation.starts_on).days // length - 1)
    shifts: list[Shift] = []
    while True:
        begins = _local(rotation.starts_on + timedelta(days=turn * length), rotation.handoff, zone)
        if begins >= end:
            return shifts
        ends = _local(rotation.starts_on + timedelta(days=(turn + 1) * length), rotation.handoff, zone)
        if ends > start:
            user = rotation.users[turn % len(rotation.users)]
            shifts.append(Shift(user, begins, ends, rotation.key))
        turn += 1


def _who(at: datetime, layered: list[tuple[int, Shift]], covers: Sequence[Cover]) -> tuple[int, str] | None:
    for cover in reversed(covers):  # the override made last wins over an earlier one
        if cover.start <= at < cover.end:
            return cover.user, OVERRIDE
    for _level, shift in layered:  # highest level first
        if shift.start <= at < shift.end:
            return shift.user, shift.source
    return None


def schedule_shifts(
    zone_name: str, rotations: Sequence[Rotation], covers: Sequence[Cover], start: datetime, end: datetime
) -> list[Shift]:
    """Who is on call from ``start`` to ``end`` (aware): shifts in order, clipped to the window, none overlapping.

    A higher layer wins where it has someone; an override wins over every
    layer. Adjacent pieces with the same person and source are one shift;
    a gap nobody covers has no shift.
    """
    zone = ZoneInfo(zone_name)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    layered = sorted(
        ((rotation.level, shift) for rotation in rotations for shift in rotation_shifts(rotation, zone, start, end)),
        key=lambda pair: -pair[0],
    )
    covers = [
        Cover(cover.user, cover.start.astimezone(UTC), cover.end.astimezone(UTC))
        for cover in covers
        if cover.end > start and cover.start < end
    ]
    cuts = {start, end}
    for _level, shift in layered:
        cuts.update((shift.start, shift.end))
    for cover in covers:
        cuts.update((cover.start, cover.end))
    moments = sorted(moment for moment in cuts if start <= moment <= end)
    shifts: list[Shift] = []
    for begins, ends in zip(moments, moments[1:], strict=False):
        who = _who(begins, layered, covers)
        if who is None:
            continue
        user, source = who
        last = shifts[-1] if shifts else None
        if last is not None and last.end == begins and (last.user, last.source) == (user, source):
            shifts[-1] = Shift(user, last.start, ends, source)
        else:
            shifts.append(Shift(user, begins, ends, source))
    return shifts
