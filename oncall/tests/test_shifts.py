"""Who is on call when: rotations at local hand-off times, layers, overrides."""

from datetime import UTC, date, datetime, time, timedelta

from oncall.shifts import OVERRIDE, Cover, Rotation, schedule_shifts

BERLIN = "Europe/Berlin"
ANA, BO, CY = 1, 2, 3


def weekly(users, starts_on=date(2026, 3, 2), handoff=time(9, 0), level=0, key="weekly"):
    return Rotation(key=key, level=level, starts_on=starts_on, handoff=handoff, length_days=7, users=users)


def utc(year, month, day, hour=0):
    return datetime(year, month, day, hour, tzinfo=UTC)


def test_weekly_rotation_hands_over_at_nine_berlin_time_across_the_spring_change():
    # Europe/Berlin moves from UTC+1 to UTC+2 on Sunday 29 March 2026.
    shifts = schedule_shifts(BERLIN, [weekly([ANA, BO])], [], utc(2026, 3, 20), utc(2026, 4, 10))
    handoffs = [(shift.user, shift.start) for shift in shifts]
    assert (BO, utc(2026, 3, 23, 8)) in handoffs  # 09:00 CET
    assert (ANA, utc(2026, 3, 30, 7)) in handoffs  # 09:00 CEST: an hour earlier in UTC
    week = next(shift for shift in shifts if shift.start == utc(2026, 3, 23, 8))
    assert week.end - week.start == timedelta(days=7, hours=-1)


def test_weekly_rotation_hands_over_at_nine_berlin_time_across_the_autumn_change():
    # Back to UTC+1 on Sunday 25 October 2026.
    rotation = weekly([ANA, BO], starts_on=date(2026, 10, 12))
    shifts = schedule_shifts(BERLIN, [rotation], [], utc(2026, 10, 13), utc(2026, 11, 3))
    starts = [shift.start for shift in shifts]
    assert starts[1:] == [utc(2026, 10, 19, 7), utc(2026, 10, 26, 8), utc(2026, 11, 2, 8)]
    assert [shift.user for shift in shifts] == [ANA, BO, ANA, BO]
    assert shifts[1].end - shifts[1].start == timedelta(days=7, hours=1)


def test_an_override_wins_over_its_layer_and_the_layer_resumes_after_it():
    friday_night = Cover(CY, utc(2026, 3, 6, 18), utc(2026, 3, 7, 6))
    shifts = schedule_shifts(
        "UTC", [weekly([ANA], handoff=time(0, 0))], [friday_night], utc(2026, 3, 5), utc(2026, 3, 8)
    )
    assert [(s.user, s.start, s.end, s.source == OVERRIDE) for s in shifts] == [
        (ANA, utc(2026, 3, 5), utc(2026, 3, 6, 18), False),
        (CY, utc(2026, 3, 6, 18), utc(2026, 3, 7, 6), True),
        (ANA, utc(2026, 3, 7, 6), utc(2026, 3, 8), False),
    ]


def test_a_higher_layer_wins_where_it_has_someone():
    base = weekly([ANA], handoff=time(0, 0), key="base")
    # A daily one-day layer only on 10 March: BO covers it.
    day = Rotation(key="day", level=1, starts_on=date(2026, 3, 10), handoff=time(0, 0), length_days=100, users=[BO])
    shifts = schedule_shifts("UTC", [base, day], [], utc(2026, 3, 9), utc(2026, 3, 11))
    assert [(s.user, s.start) for s in shifts] == [(ANA, utc(2026, 3, 9)), (BO, utc(2026, 3, 10))]


def test_nobody_before_the_rotation_starts():
    shifts = schedule_shifts("UTC", [weekly([ANA], starts_on=date(2026, 3, 2))], [], utc(2026, 2, 20), utc(2026, 3, 3))
    assert shifts[0].start == utc(2026, 3, 2, 9)
