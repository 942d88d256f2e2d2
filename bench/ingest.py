#!/usr/bin/env python
"""Points per second through POST /api/v1/metrics/ingest/, Influx line protocol and OTLP, next to a raw COPY.

Goal (issue 4): at least 100,000 points/s through the HTTP API with
10,000-point batches on Postgres, and at least 35 % of the raw COPY rate,
both measured in the same run on the same database. Goal (issue 17): line
protocol (``/api/v2/write``, 1,000 lines of 10 fields, as Telegraf sends)
and OTLP protobuf (10 gauges of 1,000 points) at least 80 % of the JSON
API's rate, with 10,000 points per request into 20 series, as the JSON batch
(the series count matters: each request updates every series' latest value).

    .venv/bin/python bench/ingest.py [--batches 10] [--rounds 3] [--clients 2] [--web 2]
"""

import argparse
import concurrent.futures
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta

from _setup import REPO, throwaway_database

BATCH = 10_000


def make_batch(rng, number, hosts=20, metrics=10):
    base = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=number)
    return [
        {
            "name": f"bench_metric_{index % metrics}",
            "value": rng.random() * 100,
            "timestamp": (base + timedelta(milliseconds=index)).isoformat().replace("+00:00", "Z"),
            "tags": {"host": f"host-{index % hosts}", "dc": "eu-1"},
        }
        for index in range(BATCH)
    ]


def make_lines(rng, number, hosts=2, metrics=10):
    """A 10,000-point batch as Influx line protocol: one line per host and millisecond, ten fields each.

    Two hosts make 20 series of ``bench_metric_<n>``, as many as the JSON batch writes.
    """
    base = int((datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=number)).timestamp() * 1e9)
    lines = []
    for line in range(BATCH // metrics):
        fields = ",".join(f"metric_{field}={rng.random() * 100!r}" for field in range(metrics))
        lines.append(f"bench,host=host-{line % hosts},dc=eu-1 {fields} {base + line * 1_000_000}")
    return ("\n".join(lines) + "\n").encode()


def make_otlp(rng, number, hosts=20, metrics=10):
    """A 10,000-point batch as an OTLP ExportMetricsServiceRequest: ten gauges of 1,000 points.

    The JSON batch's very series: gauge ``bench_metric_<n>`` on hosts n and n + 10.
    """
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

    base = int((datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=number)).timestamp() * 1e9)
    request = ExportMetricsServiceRequest()
    resource = request.resource_metrics.add()
    attribute = resource.resource.attributes.add()
    attribute.key, attribute.value.string_value = "dc", "eu-1"
    scope = resource.scope_metrics.add()
    for index in range(metrics):
        metric = scope.metrics.add()
        metric.name = f"bench_metric_{index}"
        for point_number in range(BATCH // metrics):
            point = metric.gauge.data_points.add()
            point.as_double = rng.random() * 100
            point.time_unix_nano = base + point_number * 1_000_000
            host = point.attributes.add()
            host.key, host.value.string_value = "host", f"host-{index + (point_number % 2) * (hosts // 2)}"
    return request.SerializeToString()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# How each format is posted: path, content type, the success status.
FORMATS = {
    "json": ("/api/v1/metrics/ingest/", "application/json", 202),
    "influx": ("/api/v2/write?precision=ns", "text/plain; charset=utf-8", 204),
    "otlp": ("/api/v1/metrics/otlp/v1/metrics", "application/x-protobuf", 200),
}


def post(url, key, body, kind="json"):
    path, content_type, expected = FORMATS[kind]
    headers = {"Content-Type": content_type, "Authorization": f"Token {key}"}
    request = urllib.request.Request(url + path, body, headers)
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == expected, response.status


def start_web(env, count):
    """``count`` daphne processes (the production shape runs several) and their ingest URLs."""
    servers, urls = [], []
    for _ in range(count):
        port = free_port()
        servers.append(
            subprocess.Popen(
                [str(REPO / ".venv/bin/daphne"), "-b", "127.0.0.1", "-p", str(port), "opsconsole.asgi:application"],
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    for url in urls:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
    return servers, urls


def copy_rows(bodies):
    """The rows the API would store for these bodies, for the raw COPY."""
    from metrics.models import Series

    series_ids = {(s.name, s.tags_key): s.pk for s in Series.objects.all()}
    batches = []
    for body in bodies:
        rows = []
        for point in json.loads(body)["points"]:
            tags_key = ",".join(f"{k}={v}" for k, v in sorted(point["tags"].items()))
            rows.append(
                (series_ids[(point["name"], tags_key)], datetime.fromisoformat(point["timestamp"]), point["value"])
            )
        batches.append(rows)
    return batches


def raw_copy_rate(batches):
    """The same rows straight into the table with psycopg's binary COPY, one batch per transaction: the ceiling."""
    from django.db import connection, transaction

    from metrics.services import SAMPLE_TYPES

    started = time.perf_counter()
    for rows in batches:
        copy_sql = "COPY metrics_sample (series_id, ts, value) FROM STDIN (FORMAT BINARY)"
        with transaction.atomic(), connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
            copy.set_types(SAMPLE_TYPES)
            for row in rows:
                copy.write_row(row)
    return sum(map(len, batches)) / (time.perf_counter() - started)


def api_rate(urls, key, bodies, clients, kind="json"):
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda pair: post(urls[pair[0] % len(urls)], key, pair[1], kind), enumerate(bodies)))
    return len(bodies) * BATCH / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=10, help="batches per round and method")
    parser.add_argument("--rounds", type=int, default=3, help="API and COPY take turns, so both see the same machine")
    parser.add_argument("--clients", type=int, default=2, help="concurrent HTTP clients")
    parser.add_argument("--web", type=int, default=2, help="daphne processes, as in the production shape")
    args = parser.parse_args()
    rng = random.Random(11)
    numbers = iter(range(1_000_000))
    bodies = lambda count: [json.dumps({"points": make_batch(rng, next(numbers))}).encode() for _ in range(count)]  # noqa: E731
    lines = lambda count: [make_lines(rng, next(numbers)) for _ in range(count)]  # noqa: E731
    otlp = lambda count: [make_otlp(rng, next(numbers)) for _ in range(count)]  # noqa: E731
    with throwaway_database("oc_bench_ingest") as database_url:
        from tests.factories import make_token, make_user

        key = make_token(make_user(superuser=True))[1]
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "OPSCONSOLE_VAR_DIR": f"/tmp/oc-bench-{secrets.token_hex(3)}",
            "OPSCONSOLE_COLLECT_INTERVAL": "3600",
            "OPSCONSOLE_RETENTION_INTERVAL": "86400",
            "LOG_LEVEL": "WARNING",
        }
        env.pop("REDIS_URL", None)
        servers, urls = start_web(env, args.web)
        results = []
        try:
            # A round first: series created, code loaded, connections warm.
            api_rate(urls, key, bodies(2 * args.clients), args.clients)
            api_rate(urls, key, lines(2 * args.clients), args.clients, "influx")
            api_rate(urls, key, otlp(2 * args.clients), args.clients, "otlp")
            raw_copy_rate(copy_rows(bodies(2)))
            for round_number in range(1, args.rounds + 1):
                api = api_rate(urls, key, bodies(args.batches), args.clients)
                influx = api_rate(urls, key, lines(args.batches), args.clients, "influx")
                otlp_rate = api_rate(urls, key, otlp(args.batches), args.clients, "otlp")
                copy = raw_copy_rate(copy_rows(bodies(args.batches)))
                results.append((api, copy, influx, otlp_rate))
                print(
                    f"round {round_number}: api points/s {api:>9,.0f}   influx {influx:>9,.0f} ({influx / api:4.0%})   "
                    f"otlp {otlp_rate:>9,.0f} ({otlp_rate / api:4.0%})   "
                    f"copy points/s {copy:>9,.0f}   ratio {api / copy:4.0%}"
                )
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=10)

    api, copy = max(result[0] for result in results), max(result[1] for result in results)
    influx, otlp_rate = max(result[2] for result in results), max(result[3] for result in results)
    print(
        f"best of {args.rounds} rounds of {args.batches} batches of {BATCH:,} points; "
        f"{args.clients} concurrent clients, {args.web} daphne processes"
    )
    print(f"api  points/s: {api:>10,.0f}   (goal >= 100,000)")
    print(f"copy points/s: {copy:>10,.0f}   (psycopg binary COPY, a transaction per batch)")
    print(f"api / copy   : {api / copy:>10.0%}   (goal >= 35 %)")
    print(f"influx points/s: {influx:>8,.0f}   {influx / api:4.0%} of the JSON API (goal >= 80 %)")
    print(f"otlp   points/s: {otlp_rate:>8,.0f}   {otlp_rate / api:4.0%} of the JSON API (goal >= 80 %)")


if __name__ == "__main__":
    sys.exit(main())
