#!/usr/bin/env python
"""Points per second through POST /api/v1/metrics/ingest/ next to a raw COPY of the same rows.

Goal (issue 4): at least 100,000 points/s through the HTTP API with
10,000-point batches on Postgres, and at least 35 % of the raw COPY rate,
both measured in the same run on the same database.

    .venv/bin/python bench/ingest.py [--batches 30] [--clients 2]
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
        {"name": f"bench_metric_{index % metrics}", "value": rng.random() * 100,
         "timestamp": (base + timedelta(milliseconds=index)).isoformat().replace("+00:00", "Z"),
         "tags": {"host": f"host-{index % hosts}", "dc": "eu-1"}}
        for index in range(BATCH)
    ]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(url, key, body):
    request = urllib.request.Request(url, body, {"Content-Type": "application/json", "Authorization": f"Token {key}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 202, response.status


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--clients", type=int, default=2)
    args = parser.parse_args()
    rng = random.Random(11)
    with throwaway_database("oc_bench_ingest") as database_url:
        from django.db import connection

        from metrics.models import Series
        from tests.factories import make_token, make_user

        key = make_token(make_user(superuser=True))[1]
        port = free_port()
        env = {**os.environ, "DATABASE_URL": database_url, "OPSCONSOLE_VAR_DIR": f"/tmp/oc-bench-{secrets.token_hex(3)}",
               "OPSCONSOLE_COLLECT_INTERVAL": "3600", "LOG_LEVEL": "WARNING"}
        env.pop("REDIS_URL", None)
        server = subprocess.Popen([str(REPO / ".venv/bin/daphne"), "-b", "127.0.0.1", "-p", str(port), "opsconsole.asgi:application"],
                                  cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/api/v1/metrics/ingest/"
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            bodies = [json.dumps({"points": make_batch(rng, n)}).encode() for n in range(args.batches + 2)]
            post(url, key, bodies[0])  # warm-up: creates the series, loads the code
            started = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(args.clients) as pool:
                list(pool.map(lambda body: post(url, key, body), bodies[1:-1]))
            api_seconds = time.perf_counter() - started
            api_rate = args.batches * BATCH / api_seconds
        finally:
            server.terminate()
            server.wait(timeout=10)

        # The same rows straight into the table with COPY: the ceiling.
        series_ids = {(s.name, s.tags_key): s.pk for s in Series.objects.all()}
        rows = []
        for body in bodies[1:-1]:
            for point in json.loads(body)["points"]:
                tags_key = ",".join(f"{k}={v}" for k, v in sorted(point["tags"].items()))
                rows.append((series_ids[(point["name"], tags_key)], datetime.fromisoformat(point["timestamp"].replace("Z", "+00:00")), point["value"]))
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for offset in range(0, len(rows), BATCH):
                with cursor.cursor.copy("COPY metrics_sample (series_id, ts, value) FROM STDIN") as copy:
                    for row in rows[offset:offset + BATCH]:
                        copy.write_row(row)
        copy_rate = len(rows) / (time.perf_counter() - started)

    print(f"points: {args.batches * BATCH:,} in {args.batches} batches of {BATCH:,}, {args.clients} concurrent clients")
    print(f"api  points/s: {api_rate:>10,.0f}   (goal >= 100,000)")
    print(f"copy points/s: {copy_rate:>10,.0f}")
    print(f"api / copy   : {api_rate / copy_rate:>10.0%}   (goal >= 35 %)")


if __name__ == "__main__":
    sys.exit(main())
