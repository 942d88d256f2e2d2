#!/usr/bin/env python
"""How fast the alert list answers with 100,000 alerts on Postgres.

Goal (issue 3): a list filtered by status and severity answers in under 100 ms.
Runs the request through the whole stack (middleware, token auth, DRF,
pagination) in-process, so the figure is server time without the network.

    .venv/bin/python bench/alerts_list.py [--alerts 100000] [--repeat 30] [--runbooks 0]

``--runbooks N`` adds N runbooks, one per host label of the first N hosts,
so each listed alert is matched against them (issue 18).
"""

import argparse
import random
import statistics
import time
from datetime import timedelta

from _setup import throwaway_database


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--runbooks", type=int, default=0)
    args = parser.parse_args()
    with throwaway_database("oc_bench_alerts"):
        from django.db import connection
        from django.test import Client
        from django.utils import timezone

        from alerts.models import Alert
        from runbooks.models import Runbook
        from tests.factories import make_token, make_user

        rng = random.Random(7)
        now = timezone.now()
        started = time.perf_counter()
        statuses, severities = ["firing", "acknowledged", "resolved"], ["info", "warning", "critical"]
        batch = []
        for number in range(args.alerts):
            status = rng.choices(statuses, weights=[2, 1, 7])[0]
            seen = now - timedelta(seconds=rng.randint(0, 30 * 86400))
            batch.append(
                Alert(
                    fingerprint=f"{number:064x}",
                    source=f"host-{number % 500}",
                    category=rng.choice(["cpu", "memory", "disk", "custom"]),
                    severity=rng.choice(severities),
                    title=f"Alert {number}",
                    labels={"host": f"host-{number % 500}"},
                    status=status,
                    starts_at=seen,
                    last_seen_at=seen,
                )
            )
            if len(batch) == 10_000:
                Alert.objects.bulk_create(batch)
                batch = []
        Alert.objects.bulk_create(batch)
        Runbook.objects.bulk_create(
            Runbook(title=f"Runbook {n}", body="1. Look", matchers={"host": f"host-{n}"}) for n in range(args.runbooks)
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE alerts_alert")
        print(f"seeded {args.alerts:,} alerts in {time.perf_counter() - started:.1f} s")

        key = make_token(make_user(superuser=True))[1]
        client = Client(HTTP_AUTHORIZATION=f"Token {key}")
        for query in (
            "status=firing&severity=critical",
            "status=acknowledged&severity=warning&page=3",
            "status=firing&status=acknowledged&severity=critical&ordering=-starts_at",
        ):
            url = f"/api/v1/alerts/?{query}"
            assert client.get(url).status_code == 200  # warm-up
            timings = []
            for _ in range(args.repeat):
                began = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - began) * 1000)
                assert response.status_code == 200
            count = response.json()["count"]
            print(
                f"GET {url:<82} matches {count:>6,}  median {statistics.median(timings):6.1f} ms"
                f"  p95 {sorted(timings)[int(len(timings) * 0.95) - 1]:6.1f} ms  (goal < 100 ms)"
            )


if __name__ == "__main__":
    main()
