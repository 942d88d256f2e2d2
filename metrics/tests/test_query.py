"""Downsampled queries agree with the same numbers computed in Python; retention keeps them."""

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.points import Point, tags_key
from metrics.query import AGGREGATES, ORIGIN, buckets_sql, query_series
from metrics.retention import apply_retention
from metrics.services import ingest_points

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def store(name, tags, samples):
    ingest_points([Point(name, tags_key(tags), tags, ts, value) for ts, value in samples])


def expected(samples, step, agg):
    """The reference answer: bucket by step since ORIGIN, aggregate in Python."""
    buckets = {}
    for ts, value in sorted(samples):
        bucket = int(ORIGIN.timestamp() + ((ts - ORIGIN).total_seconds() // step) * step)
        buckets.setdefault(bucket, []).append(value)
    reducers: dict[str, Callable[[list[float]], float]] = {
        "avg": lambda values: sum(values) / len(values),
        "min": min,
        "max": max,
        "sum": sum,
        "count": len,
        "last": lambda values: values[-1],
    }
    return [[bucket, reducers[agg](values)] for bucket, values in sorted(buckets.items())]


def close(got, want):
    assert [point[0] for point in got] == [point[0] for point in want]
    for (_, a), (_, b) in zip(got, want, strict=False):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), (a, b)


samples_strategy = st.lists(
    st.tuples(st.integers(min_value=0, max_value=3599), st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)),
    min_size=1,
    max_size=60,
    unique_by=lambda pair: pair[0],
)


@pytest.mark.parametrize("agg", ["avg", "min", "max", "sum", "count", "last"])
@given(raw=samples_strategy, step=st.sampled_from([1, 7, 60, 300, 3600]))
@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_aggregate_matches_python_on_random_data(agg, raw, step):
    from metrics.models import Sample, Series

    Sample.objects.all().delete()
    Series.objects.all().delete()
    samples = [(START + timedelta(seconds=offset), value) for offset, value in raw]
    store("random_metric", {"host": "h1"}, samples)
    answer = query_series(name="random_metric", start=START, end=START + timedelta(hours=1), step=step, agg=agg)
    assert len(answer) == 1
    close(answer[0]["points"], expected(samples, step, agg))


def test_tags_select_series_and_each_series_is_answered_separately():
    store("cpu_percent", {"host": "a", "dc": "eu"}, [(START, 1.0)])
    store("cpu_percent", {"host": "b", "dc": "eu"}, [(START, 2.0)])
    window: dict[str, Any] = {"start": START, "end": START + timedelta(minutes=1), "step": 60}
    assert [s["tags"]["host"] for s in query_series(name="cpu_percent", **window)] == ["a", "b"]
    assert [s["points"][0][1] for s in query_series(name="cpu_percent", tags={"host": "b"}, **window)] == [2.0]
    assert query_series(name="cpu_percent", tags={"host": "z"}, **window) == []


def test_the_query_api_answers_the_contract_shape(staff_client):
    store("cpu_percent", {"host": "web-1"}, [(START + timedelta(seconds=s), float(s)) for s in range(0, 120, 10)])
    response = staff_client.get(
        "/api/v1/metrics/query/",
        {
            "name": "cpu_percent",
            "tag": "host:web-1",
            "start": START.isoformat(),
            "end": str((START + timedelta(minutes=2)).timestamp()),
            "step": 60,
            "agg": "max",
        },
    )
    assert response.status_code == 200
    assert response.json() == {
        "series": [
            {
                "name": "cpu_percent",
                "tags": {"host": "web-1"},
                "unit": "",
                "points": [[int(START.timestamp()), 50.0], [int(START.timestamp()) + 60, 110.0]],
            }
        ]
    }


@pytest.mark.parametrize(
    "params, field",
    [
        ({}, "name"),
        ({"name": "m", "agg": "median"}, "agg"),
        ({"name": "m", "step": "x"}, "step"),
        ({"name": "m", "start": "soon"}, "start"),
        ({"name": "m", "tag": "nocolon"}, "tag"),
        ({"name": "m", "step": 1, "start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"}, "step"),
        ({"name": "m", "start": "2026-02-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}, "end"),
    ],
)
def test_bad_query_parameters_answer_400_naming_them(staff_client, params, field):
    response = staff_client.get("/api/v1/metrics/query/", params)
    assert response.status_code == 400
    assert field in response.json()


def test_latest_and_series_endpoints(staff_client):
    store("memory_percent", {"host": "a"}, [(START, 10.0), (START + timedelta(seconds=5), 11.0)])
    latest = staff_client.get("/api/v1/metrics/latest/", {"name": "memory_percent"}).json()["series"]
    assert [(row["tags"], row["value"]) for row in latest] == [({"host": "a"}, 11.0)]
    listing = staff_client.get("/api/v1/metrics/series/").json()
    assert listing["count"] == 1 and listing["results"][0]["name"] == "memory_percent"


def test_retention_rolls_up_old_points_and_answers_stay_the_same(settings):
    settings.OPSCONSOLE_RETENTION_DAYS = 1
    old = timezone.now().replace(second=0, microsecond=0) - timedelta(days=3)
    samples = [(old + timedelta(seconds=7 * n), float((n * 37) % 101)) for n in range(200)]
    store("disk_usage_percent", {"host": "a"}, samples)
    window: dict[str, Any] = {"name": "disk_usage_percent", "start": old, "end": old + timedelta(hours=1), "step": 300}
    before = {agg: query_series(agg=agg, **window) for agg in ("avg", "min", "max", "sum", "count", "last")}
    assert apply_retention() == 200
    from metrics.models import Rollup, Sample

    assert Sample.objects.count() == 0 and Rollup.objects.exists()
    for agg, answer in before.items():
        close(query_series(agg=agg, **window)[0]["points"], answer[0]["points"])


def test_retention_keeps_recent_points(settings):
    settings.OPSCONSOLE_RETENTION_DAYS = 7
    store("m", {}, [(timezone.now() - timedelta(hours=1), 1.0)])
    assert apply_retention() == 0


@pytest.mark.parametrize("agg", AGGREGATES)
@pytest.mark.parametrize("step", [60, 900], ids=["one pass", "bucket by bucket"])
def test_a_range_starting_and_ending_mid_bucket_counts_only_the_samples_inside_it(agg, step):
    samples = [(START + timedelta(seconds=5 * n), float((n * 31) % 89)) for n in range(720)]  # an hour
    store("net_bytes", {"host": "a"}, samples)
    start, end = START + timedelta(seconds=95), START + timedelta(minutes=47, seconds=12)
    answer = query_series(name="net_bytes", start=start, end=end, step=step, agg=agg)
    close(answer[0]["points"], expected([(ts, value) for ts, value in samples if start <= ts < end], step, agg))


@pytest.mark.parametrize("agg", AGGREGATES)
def test_a_bucket_split_by_retention_merges_its_rollups_and_raw_points(agg, settings):
    settings.OPSCONSOLE_RETENTION_DAYS = 1
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=3)
    samples = [(hour + timedelta(seconds=7 * n), float((n * 53) % 97) - 40.0) for n in range(514)]  # the whole hour
    store("load1", {"host": "a"}, samples)
    # Retention as it runs a day and 25 minutes later: the hour's first 25 minutes become rollups.
    apply_retention(now=hour + timedelta(days=1, minutes=25))
    from metrics.models import Rollup, Sample

    assert Rollup.objects.filter(bucket__lt=hour + timedelta(minutes=25)).count() == 25
    assert Sample.objects.filter(ts__lt=hour + timedelta(minutes=25)).count() == 0
    assert Sample.objects.count() > 0
    # The buckets :24-:28, :20-:30 and the hour each hold rollups and raw points; the
    # first is read in one pass over the samples, the others bucket by bucket.
    for step in (240, 600, 3600):
        answer = query_series(name="load1", start=hour, end=hour + timedelta(hours=1), step=step, agg=agg)
        close(answer[0]["points"], expected(samples, step, agg))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index-only scans and INCLUDE are Postgres features")
@pytest.mark.parametrize("step", [60, 3600], ids=["one pass", "bucket by bucket"])
def test_a_range_read_of_one_series_needs_only_the_index(step):
    store("cpu_percent", {"host": "a"}, [(START + timedelta(seconds=10 * n), float(n)) for n in range(100)])
    from metrics.models import Series

    params: dict[str, Any] = {
        "step": timedelta(seconds=step),
        "origin": ORIGIN,
        "ids": [Series.objects.get().pk],
        "start": START,
        "end": START + timedelta(days=7),
    }
    with connection.cursor() as cursor:
        # A table this small would be read whole; take that choice away to see which index the read can use.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        for agg in AGGREGATES:
            cursor.execute(f"EXPLAIN {buckets_sql(agg, step)}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            sample_reads = [line for line in plan.splitlines() if " on metrics_sample" in line]
            assert sample_reads, plan
            assert all("Index Only Scan" in line and "using sample_series_ts" in line for line in sample_reads), plan
