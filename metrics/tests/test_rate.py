"""``agg=rate``: the per-second rate of a counter, across counter resets, as Prometheus' rate() counts them."""

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.models import Sample, Series
from metrics.points import Point, tags_key
from metrics.query import ORIGIN, query_series

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def store(samples, name="net_bytes"):
    from metrics.services import ingest_points

    tags = {"host": "h1"}
    ingest_points([Point(name, tags_key(tags), tags, ts, value) for ts, value in samples])


def reference_rate(samples, start, step):
    """Independently of the code: a reset-adjusted counter, and each step's rise from the sample before it.

    The adjusted counter adds every value seen just before a drop, so it
    never falls; a step's increase is its last adjusted value minus the
    adjusted value of the sample before its first (in range or up to one
    step before ``start``).
    """
    ordered = sorted(samples)
    adjusted, offset = [], 0.0
    for index, (_, value) in enumerate(ordered):
        if index and value < ordered[index - 1][1]:
            offset += ordered[index - 1][1]
        adjusted.append(offset + value)
    buckets = {}
    for index, (ts, _) in enumerate(ordered):
        if index == 0 or ts < start:
            continue
        bucket = int(ORIGIN.timestamp() + ((ts - ORIGIN).total_seconds() // step) * step)
        buckets.setdefault(bucket, []).append(index)
    return [
        [bucket, (adjusted[indexes[-1]] - adjusted[indexes[0] - 1]) / step]
        for bucket, indexes in sorted(buckets.items())
    ]


def close(got, want):
    assert [point[0] for point in got] == [point[0] for point in want]
    for (_, a), (_, b) in zip(got, want, strict=True):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6), (a, b)


def test_a_reset_counts_the_new_value_not_a_negative_rate():
    # 10 s samples of a counter rising 1000 a step, restarting at 300 s.
    values = [0, 1000, 2000, 3000, 500, 1500]
    store([(START + timedelta(seconds=10 * i), float(v)) for i, v in enumerate(values)])
    (series,) = query_series(name="net_bytes", start=START, end=START + timedelta(minutes=1), step=20, agg="rate")
    first = int(START.timestamp())
    # [0,20): 0->1000; [20,40): 1000->2000->3000; [40,60): reset to 500 (+500), then +1000
    assert series["points"] == [[first, 50.0], [first + 20, 100.0], [first + 40, 75.0]]


def test_the_first_step_counts_the_rise_from_the_sample_just_before_the_range():
    store([(START - timedelta(seconds=5), 100.0), (START + timedelta(seconds=5), 300.0)])
    (series,) = query_series(name="net_bytes", start=START, end=START + timedelta(seconds=10), step=10, agg="rate")
    assert series["points"] == [[int(START.timestamp()), 20.0]]


counter_steps = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=90),  # seconds since the previous sample
        st.one_of(st.floats(min_value=0, max_value=1e6), st.just(-1.0)),  # a rise, or -1: a restart
        st.floats(min_value=0, max_value=1e5),  # the value a restarted counter starts from
    ),
    min_size=1,
    max_size=60,
)


@given(steps=counter_steps, step=st.sampled_from([1, 7, 60, 300, 3600]), lead=st.integers(min_value=0, max_value=600))
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_rate_matches_a_reference_computation_across_resets(steps, step, lead):
    Sample.objects.all().delete()
    Series.objects.all().delete()
    at, value, samples = START - timedelta(seconds=lead), 0.0, []
    for gap, rise, restart in steps:
        at += timedelta(seconds=gap)
        value = restart if rise < 0 else value + rise
        samples.append((at, value))
    store(samples)
    answer = query_series(name="net_bytes", start=START, end=START + HOUR, step=step, agg="rate")
    in_query = [(ts, v) for ts, v in samples if START - timedelta(seconds=step) <= ts < START + HOUR]
    want = reference_rate(in_query, START, step)
    got = answer[0]["points"] if answer else []
    close(got, want)


def test_the_query_api_and_request_data_accept_rate(staff_client):
    store([(START + timedelta(seconds=10 * i), float(100 * i)) for i in range(6)])
    answer = staff_client.get(
        "/api/v1/metrics/query/",
        {
            "name": "net_bytes",
            "start": START.isoformat(),
            "end": (START + timedelta(minutes=1)).isoformat(),
            "step": 60,
            "agg": "rate",
        },
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["series"][0]["points"] == [[int(START.timestamp()), 500 / 60]]


@pytest.mark.django_db(transaction=True)
async def test_request_data_answers_with_rate():
    from channels.db import database_sync_to_async
    from django.utils import timezone

    from realtime.tests.sockets import ask, connect

    now = timezone.now()
    await database_sync_to_async(store)([(now - timedelta(seconds=30 - 10 * i), float(1000 * i)) for i in range(3)])
    socket, _ = await connect("/ws/metrics")
    answer = await ask(
        socket, {"type": "request_data", "data": {"metrics": ["net_bytes"], "history_minutes": 5, "agg": "rate"}}
    )
    assert answer["type"] == "data" and answer["data"]["agg"] == "rate"
    (series,) = answer["data"]["series"]
    assert sum(value for _, value in series["points"]) * 1 == pytest.approx(2000.0)  # 1-second steps
    refused = await ask(socket, {"type": "request_data", "data": {"metrics": ["net_bytes"], "agg": "p99"}})
    assert refused["type"] == "error" and "data.agg" in refused["data"]["message"]
    await socket.disconnect()


def test_a_unit_given_on_ingest_is_stored_on_the_series_and_carried_by_queries(staff_client):
    at = START.isoformat()
    answer = staff_client.post(
        "/api/v1/metrics/ingest/",
        json.dumps(
            {"points": [{"name": "net_bytes", "value": 1, "unit": "By", "timestamp": at, "tags": {"host": "h1"}}]}
        ),
        content_type="application/json",
    )
    assert answer.status_code == 202, answer.content
    assert Series.objects.get(name="net_bytes").unit == "By"
    window: dict[str, Any] = {"start": START, "end": START + timedelta(minutes=1), "step": 60}
    assert query_series(name="net_bytes", agg="rate", **window)[0]["unit"] == "By/s"
    assert query_series(name="net_bytes", agg="max", **window)[0]["unit"] == "By"
    assert query_series(name="net_bytes", agg="count", **window)[0]["unit"] == ""


def test_a_unit_with_spaces_is_a_400_naming_it(staff_client):
    answer = staff_client.post(
        "/api/v1/metrics/ingest/",
        json.dumps({"points": [{"name": "m", "value": 1, "unit": "bytes per second"}]}),
        content_type="application/json",
    )
    assert answer.status_code == 400
    assert answer.json()["errors"] == [
        {
            "index": 0,
            "field": "unit",
            "message": "must be 1-32 printable ASCII characters without spaces, e.g. By or ms",
        }
    ]
