"""Recurring maintenance windows: a silence that holds on chosen weekdays, from a time of day, for a while.

Times are wall-clock times in a named time zone (``zoneinfo``), so a window
"Mondays 02:00 Europe/Amsterdam for 2 h" stays at 02:00 local through
daylight-saving changes. A window may run past midnight; it belongs to the
day it starts on.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

MAX_DURATION = 7 * 86400
WEEKDAYS = range(7)  # Monday 0 … Sunday 6, as datetime.weekday()


def window_problems(days: list[int], start: time | None, duration: int | None, zone: str) -> dict[str, str]:
    """Field → problem for a recurrence; empty when valid (or when none is given: a one-off silence)."""
    if not days and start is None and duration is None:
        return {}
    problems = {}
    if not days or not all(isinstance(day, int) and day in WEEKDAYS for day in days):
        problems["repeat_days"] = "Weekdays as numbers, Monday 0 to Sunday 6, at least one."
    if start is None:
        problems["repeat_start"] = "A recurring window needs its time of day."
    if duration is None or not 60 <= duration <= MAX_DURATION:
        problems["repeat_duration"] = f"Seconds the window lasts, 60 to {MAX_DURATION}."
    if zone not in available_timezones():
        problems["timezone"] = f"{zone!r} is not a time zone name (such as Europe/Amsterdam or UTC)."
    return problems


def in_window(at: datetime, days: list[int], start: time, duration: int, zone: str) -> bool:
    """Whether the moment ``at`` (aware) falls inside one of the window's occurrences."""
    try:
        place = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    local_day = at.astimezone(place).date()
    # An occurrence that started up to `duration` ago may still be running.
    for back in range(duration // 86400 + 2):
        day: date = local_day - timedelta(days=back)
        if day.weekday() not in days:
            continue
        opens = datetime.combine(day, start, tzinfo=place)
        if opens <= at < opens + timedelta(seconds=duration):
            return True
    return False
