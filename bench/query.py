#!/usr/bin/env python
"""How fast GET /api/v1/metrics/query/ answers over a week of 10-second data on Postgres.

Goal (issue 4): with 7 days of 10-second points for 20 series (1.2 M points),
a 7-day query of one series at 500 points answers in under 50 ms median, and a
1-hour query (default step) in under 20 ms median.

The points go in with a binary COPY (the path ``ingest_points`` uses), in time
order across all series as agents would send them; then the retention job runs
as it would have on a console that has been running all along, so the tables
have the shape the product gives them (raw points and whatever rollups it
makes), and ANALYZE. Each request goes through the whole stack (middleware,
token auth, DRF) in-process, so the figure is server time without the
network; the bare ``query_series`` call is timed too, to show what the HTTP
layer adds.

    .venv/bin/python bench/query.py [--series 20] [--days 7] [--repeat 30] [--explain]
"""

import argparse
import math
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from _setup import throwaway_database

INTERVAL = 10  # seconds between two points of a series
COPY_BATCH = 100_000  # rows per COPY transaction, as a stream of ingest batches would commit them
# Autovacuum (scale factor 0.01, migration 0004) runs after ~13,000 new rows of
# 1.2 M: 1.8 hours of 20 series every 10 s. Two hours, to be on the safe side.
UNVACUUMED = timedelta(hours=2)


def percentile(timings, fraction):
    return sorted(timings)[max(0, math.ceil(len(timings) * fraction) - 1)]


def load(series_count, days, end):
    """``series_count`` series of ``days`` of points every INTERVAL seconds up to ``end``; returns the point count.

    The table is vacuumed when all but the last UNVACUUMED of the data are in,
    which is the worst the autovacuum setting of migration 0004 leaves it in:
    the newest rows are not yet all-visible and index-only scans fetch them
    from the heap.
    """
    from django.db import connection, transaction

    from metrics.models import Series
    from metrics.points import Point, tags_key
    from metrics.services import SAMPLE_TYPES, ingest_points

    start = end - timedelta(days=days)
    # The series are created by the real write path, with their first point.
    tags = [{"host": f"web-{number}", "dc": "eu-1"} for number in range(series_count)]
    ingest_points([Point("cpu_percent", tags_key(item), item, start, 50.0) for item in tags])
    ids = list(Series.objects.filter(name="cpu_percent").order_by("id").values_list("id", flat=True))
    rng = random.Random(4)
    levels = [50.0] * series_count
    total = series_count
    rows: list[tuple[int, object, float]] = []

    def flush():
        copy_sql = "COPY metrics_sample (series_id, ts, value) FROM STDIN (FORMAT BINARY)"
        with transaction.atomic(), connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
            copy.set_types(SAMPLE_TYPES)
            for row in rows:
                copy.write_row(row)
        rows.clear()

    vacuum_at = end - UNVACUUMED
    for number in range(1, int((end - start).total_seconds()) // INTERVAL):
        ts = start + timedelta(seconds=number * INTERVAL)
        if ts == vacuum_at:
            flush()
            with connection.cursor() as cursor:
                cursor.execute("VACUUM metrics_sample")
        for index, series_id in enumerate(ids):
            # A bounded random walk: values that look like a CPU graph, not noise.
            levels[index] = min(100.0, max(0.0, levels[index] + rng.gauss(0, 2)))
            rows.append((series_id, ts, levels[index]))
        total += series_count
        if len(rows) >= COPY_BATCH:
            flush()
    flush()
    return total


def timed(call, repeat):
    """Median and p95 in milliseconds of ``repeat`` calls after two warm-up calls, and the last result."""
    call()
    call()
    timings = []
    for _ in range(repeat):
        began = time.perf_counter()
        result = call()
        timings.append((time.perf_counter() - began) * 1000)
    return statistics.median(timings), percentile(timings, 0.95), result


def check_points(points, start, end, step):
    """At most one point per step, on step boundaries, inside the range: what the contract promises."""
    from metrics.query import ORIGIN

    stamps = [at for at, _ in points]
    assert stamps == sorted(set(stamps)), "points are not one per step in time order"
    assert all((at - ORIGIN.timestamp()) % step == 0 for at in stamps), "a point is not on a step boundary"
    assert all(start.timestamp() - step < at < end.timestamp() for at in stamps), "a point lies outside the range"
    assert len(stamps) <= math.ceil((end - start).total_seconds() / step) + 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=20)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--explain", action="store_true", help="also print EXPLAIN ANALYZE of each query's SQL")
    args = parser.parse_args()
    with throwaway_database("oc_bench_query"):
        from django.db import connection
        from django.test import Client

        from metrics.models import Rollup
        from metrics.query import default_step, query_series
        from metrics.retention import apply_retention
        from tests.factories import make_token, make_user

        now = datetime.now(UTC)
        end = now.replace(second=now.second - now.second % INTERVAL, microsecond=0)
        started = time.perf_counter()
        points = load(args.series, args.days, end)
        loaded = time.perf_counter() - started
        apply_retention()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE metrics_sample")
            cursor.execute("ANALYZE metrics_rollup")
        print(
            f"loaded {points:,} points ({args.series} series, {args.days} days every {INTERVAL} s; all but the last "
            f"{UNVACUUMED} vacuumed) in {loaded:.1f} s; then retention and ANALYZE: "
            f"{Rollup.objects.count():,} rollup rows, {time.perf_counter() - started:.1f} s in all"
        )

        key = make_token(make_user(superuser=True))[1]
        client = Client(HTTP_AUTHORIZATION=f"Token {key}")
        # The smallest step that gives at most 500 buckets wherever the range starts (buckets align to ORIGIN).
        week = (
            end - timedelta(days=args.days),
            end,
            math.ceil(args.days * 86400 / 499),
            f"{args.days}-day range at 500 points",
            50,
        )
        hour = (end - timedelta(hours=1), end, None, "1-hour range, default step", 20)
        for start, stop, step, label, goal in (week, hour):
            params = {
                "name": "cpu_percent",
                "tag": "host:web-3",
                "start": str(int(start.timestamp())),
                "end": str(int(stop.timestamp())),
                "agg": "avg",
            }
            if step:
                params["step"] = str(step)

            def http(params=params):
                response = client.get("/api/v1/metrics/query/", params)
                assert response.status_code == 200, response.content
                return response.json()

            def bare(start=start, stop=stop, step=step):
                return query_series(
                    name="cpu_percent", tags={"host": "web-3"}, start=start, end=stop, step=step, agg="avg"
                )

            median, p95, answer = timed(http, args.repeat)
            bare_median, bare_p95, _ = timed(bare, args.repeat)
            used_step = step or default_step(start, stop)
            [series] = answer["series"]
            check_points(series["points"], start, stop, used_step)
            print(
                f"{label:<28} step {used_step:>5} s  {len(series['points']):>4} points  "
                f"HTTP median {median:5.1f} ms  p95 {p95:5.1f} ms  (goal median < {goal} ms)   "
                f"query_series median {bare_median:5.1f} ms  p95 {bare_p95:5.1f} ms"
            )
            if args.explain:
                explain(start, stop, used_step)
        # The machine's load, next to the figures: on a shared machine they move with it.
        averages = ", ".join(f"{value:.2f}" for value in os.getloadavg())
        print(f"{args.repeat} timed runs each after 2 warm-up runs; load average {averages} on {os.cpu_count()} CPUs")


def explain(start, stop, step):
    """The plans of the SQL query_series runs, with real timings: how to find out why a figure is what it is."""
    from django.db import connection

    from metrics.query import query_series

    def with_plan(execute, sql, params, many, context):
        if "metrics_sample" in sql or "metrics_rollup" in sql:
            plain = context["cursor"].cursor  # psycopg's own cursor: past the wrappers, so no recursion
            plain.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            print("\n".join(row[0] for row in plain.fetchall()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(with_plan):
        query_series(name="cpu_percent", tags={"host": "web-3"}, start=start, end=stop, step=step, agg="avg")


if __name__ == "__main__":
    main()
