#!/usr/bin/env python
"""One escalation engine pass: 1,000 open alerts under escalation, 50 policies, 20 schedules.

Goal (issue 21): one pass under 500 ms with a number of queries that does
not grow with the alerts. Every alert has a step due, so the pass takes
1,000 steps and queues their pages (the worst single pass); a second pass
right after has nothing due, the common case.

    .venv/bin/python bench/escalation.py [--alerts 1000]
"""

import argparse
import time
from datetime import date, timedelta
from datetime import time as wall_time
from pathlib import Path

from _setup import throwaway_database


def seed(alert_count: int) -> None:
    from django.contrib.auth import get_user_model

    from alerts.services import raise_alert
    from oncall.api.escalation import save_steps
    from oncall.contacts import add_contact_method
    from oncall.models import EscalationPolicy, Layer, LayerMember, Schedule

    users = [get_user_model().objects.create_user(f"oncall{i}", is_staff=True) for i in range(40)]
    for user in users:
        add_contact_method(user, "hook", "webhook", url=f"https://hooks.example.com/{user.username}")
        add_contact_method(user, "mail", "email", emails=f"{user.username}@example.com")
    schedules = []
    for i in range(20):
        schedule = Schedule.objects.create(name=f"team {i}", time_zone="Europe/Berlin")
        for level in range(2):
            layer = Layer.objects.create(
                schedule=schedule,
                name=f"layer {level}",
                level=level,
                rotation="weekly",
                starts_on=date(2026, 1, 5),
                handoff_time=wall_time(9, 0),
            )
            members = users[(i + level) % 40 : (i + level) % 40 + 4] or users[:4]
            LayerMember.objects.bulk_create(LayerMember(layer=layer, user=u, position=p) for p, u in enumerate(members))
        schedules.append(schedule)
    for i in range(50):
        policy = EscalationPolicy.objects.create(
            name=f"policy {i}", position=i, matchers={"team": f"t{i}"}, repeat=1, is_default=i == 49
        )
        save_steps(
            policy,
            [
                {"target": "schedule", "schedule": schedules[i % 20], "wait_minutes": 5},
                {"target": "users", "users": [users[i % 40], users[(i + 1) % 40]], "wait_minutes": 5},
            ],
        )
    for i in range(alert_count):
        raise_alert(source="bench", title=f"alert {i}", severity="critical", labels={"team": f"t{i % 60}", "n": str(i)})


class _RolledBack(Exception):
    pass


def compare_write_paths(now, rounds: int) -> None:
    """The same first pass, rolled back each time, its rows written by COPY and by bulk_create, in turns."""
    from django.db import transaction

    import oncall.escalation
    from oncall.bulk_insert import bulk_create_rows, copy_rows
    from oncall.escalation import run_escalations

    timings: dict[str, list[float]] = {"bulk_create": [], "COPY": []}
    for _ in range(rounds):
        for name, write in (("bulk_create", bulk_create_rows), ("COPY", copy_rows)):
            oncall.escalation.copy_rows = write
            try:
                with transaction.atomic():
                    started = time.perf_counter()
                    run_escalations(now)
                    timings[name].append(time.perf_counter() - started)
                    raise _RolledBack
            except _RolledBack:
                pass
    oncall.escalation.copy_rows = copy_rows
    for name, values in timings.items():
        shown = " / ".join(f"{value * 1000:.0f}" for value in values)
        print(f"rolled-back pass, rows by {name}: {shown} ms (without its commits)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--compare", type=int, default=3, help="rounds of the write-path comparison (0: none)")
    args = parser.parse_args()
    with throwaway_database("bench_escalation"):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext
        from django.utils import timezone

        from alerts.models import Delivery
        from oncall.escalation import run_escalations

        seed(args.alerts)
        now = timezone.now() + timedelta(seconds=1)
        print(f"load average: {Path('/proc/loadavg').read_text().split()[:3]}")
        if args.compare:
            compare_write_paths(now, args.compare)
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            counts = run_escalations(now)
            elapsed = time.perf_counter() - started
        pages = Delivery.objects.filter(channel__personal=True).count()
        print(f"first pass: {elapsed * 1000:.0f} ms, {len(queries)} queries, {counts}, {pages} pages queued")
        for query in sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:3]:
            print(f"  slowest: {float(query['time']) * 1000:.0f} ms  {query['sql'][:100]}")
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            run_escalations(now)
            elapsed = time.perf_counter() - started
        print(f"idle pass:  {elapsed * 1000:.0f} ms, {len(queries)} queries")
        print(f"load average: {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
