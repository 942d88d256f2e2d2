#!/usr/bin/env python
"""One rule-evaluation cycle: 1,000 rules against 10,000 series on Postgres.

Goal (issue 7): under 1 s per cycle, in a bounded number of queries.
Series: 10 metrics x 1,000 hosts. Rules: 990 with a host matcher (one series
each) and 10 without (1,000 series each), so a cycle weighs ~10,990 pairs.

    .venv/bin/python bench/rules.py [--cycles 5]
"""

import argparse
import random
import statistics
import time

from _setup import throwaway_database


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=5)
    args = parser.parse_args()
    with throwaway_database("oc_bench_rules"):
        from django.db import connection, reset_queries
        from django.test.utils import CaptureQueriesContext
        from django.utils import timezone

        from alerts.models import AlertRule
        from alerts.rules import evaluate_rules
        from metrics.points import Point, tags_key
        from metrics.services import ingest_points

        rng = random.Random(3)
        now = timezone.now()
        points = []
        for metric in range(10):
            for host in range(1000):
                tags = {"host": f"h{host}"}
                points.append(Point(f"metric_{metric}", tags_key(tags), tags, now, rng.uniform(0, 100)))
        ingest_points(points)
        rules = [
            AlertRule(
                name=f"rule {n}",
                metric=f"metric_{n % 10}",
                tags={"host": f"h{n}"},
                operator=">",
                threshold=rng.uniform(50, 100),
                for_seconds=0,
                title="{metric} on {host} at {value}",
            )
            for n in range(990)
        ]
        rules += [
            AlertRule(
                name=f"broad {n}",
                metric=f"metric_{n}",
                tags={},
                operator=">",
                threshold=99.5,
                for_seconds=0,
                title="{metric} on {host}",
            )
            for n in range(10)
        ]
        AlertRule.objects.bulk_create(rules)

        timings, queries = [], []
        for cycle in range(args.cycles):
            reset_queries()
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                result = evaluate_rules()
                timings.append(time.perf_counter() - started)
            queries.append(len(captured))
            print(
                f"cycle {cycle + 1}: {timings[-1] * 1000:7.1f} ms  {len(captured):5d} queries  "
                f"rules {result['rules']}  pairs {result['series']}  fired {result['fired']}"
            )
        steady = timings[1:] or timings
        print(
            f"steady-state cycle: median {statistics.median(steady) * 1000:.1f} ms, "
            f"max {max(steady) * 1000:.1f} ms (goal < 1000 ms); queries per steady cycle: {max(queries[1:] or queries)}"
        )


if __name__ == "__main__":
    main()
