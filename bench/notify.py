#!/usr/bin/env python
"""Notification sending: deliveries/s with 10 channels (one dead) and p99 alert change → delivery.

Goal (issue 16): 200 deliveries/s, p99 under 2 s at a healthy receiver with
the default pass interval (OPSCONSOLE_NOTIFY_INTERVAL, 1 s). Nine webhook
receivers run in one child process, the sender (the embedded scheduler's
notification job, as a web process or worker runs it) in another, and the
alerts are raised here: three interpreters, as in production. The tenth
channel's receiver accepts connections and never answers.

    .venv/bin/python bench/notify.py [--burst 1000] [--rate 20] [--seconds 30]

Phase 1 (throughput): --burst alerts queued before the sender starts, time
until every healthy delivery arrived. Phase 2 (latency): --rate alerts/s for --seconds,
each alert's change time (its delivery's created_at) to its arrival.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

from _setup import REPO, throwaway_database

RECEIVERS = r"""
import json, sys, time, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
LOCK = threading.Lock()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        arrived = time.time()
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
        with LOCK:
            sys.stdout.write(json.dumps([self.server.server_port, self.headers["webhook-id"], arrived]) + "\n")
            sys.stdout.flush()
    def log_message(self, *a): pass
ports = []
for _ in range(int(sys.argv[1])):
    server = ThreadingHTTPServer(("127.0.0.1", 0), H); server.daemon_threads = True
    ports.append(server.server_port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
print(json.dumps(ports), flush=True)
sys.stdin.read()
"""


SENDER = r"""
import asyncio, django
django.setup()
from realtime.schedule import InProcessScheduler, job_named
async def main():
    InProcessScheduler((job_named("deliver-notifications"),)).start()
    await asyncio.Event().wait()
asyncio.run(main())
"""


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    os.environ.setdefault("OPSCONSOLE_WEBHOOK_DENY_NETWORKS", "169.254.0.0/16")  # the receivers are on loopback
    with throwaway_database("oc_bench_notify"):
        from django.conf import settings

        from alerts.models import Delivery, NotificationChannel
        from alerts.tests.factories import make_alert

        child = subprocess.Popen(
            [sys.executable, "-c", RECEIVERS, "9"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None and child.stdin is not None
        output, control = child.stdout, child.stdin
        ports = json.loads(output.readline())
        arrivals: dict[str, float] = {}  # webhook-id -> arrival time (first)

        def read_arrivals():
            for line in output:
                _port, message_id, at = json.loads(line)
                arrivals.setdefault(message_id, at)

        threading.Thread(target=read_arrivals, daemon=True).start()
        dead = socket.socket()
        dead.bind(("127.0.0.1", 0))
        dead.listen(1024)
        for number, port in enumerate(ports):
            NotificationChannel.objects.create(
                name=f"healthy {number}", kind="webhook", url=f"http://127.0.0.1:{port}/"
            )
        NotificationChannel.objects.create(
            name="dead", kind="webhook", url=f"http://127.0.0.1:{dead.getsockname()[1]}/"
        )
        healthy_channels = list(NotificationChannel.objects.exclude(name="dead").values_list("id", flat=True))

        def healthy_ids(since_id):
            rows = Delivery.objects.filter(channel_id__in=healthy_channels, pk__gt=since_id)
            return dict(rows.values_list("id", "created_at"))

        def wait_for(ids, limit):
            deadline = time.monotonic() + limit
            while time.monotonic() < deadline and any(f"opsconsole-delivery-{i}" not in arrivals for i in ids):
                time.sleep(0.05)

        def measure(start_sender):
            print(
                f"pass interval {settings.OPSCONSOLE_NOTIFY_INTERVAL:g} s, {settings.OPSCONSOLE_NOTIFY_CONCURRENCY} "
                f"threads, {settings.OPSCONSOLE_NOTIFY_PER_CHANNEL} per channel, timeout "
                f"{settings.OPSCONSOLE_NOTIFY_TIMEOUT:g} s"
            )
            # Phase 1: a backlog, queued before the sender starts, so its rate is the sender's alone.
            last = Delivery.objects.order_by("-id").values_list("id", flat=True).first() or 0
            for _ in range(args.burst):
                make_alert()
            ids = healthy_ids(last)
            started = time.time()
            start_sender()
            wait_for(ids, 600)
            done = max(arrivals[f"opsconsole-delivery-{i}"] for i in ids)
            print(
                f"backlog: {args.burst} alerts x 10 channels; the sender (start-up included) delivered all "
                f"{len(ids)} healthy ones in {done - started:.1f} s: {len(ids) / (done - started):.0f} deliveries/s"
            )
            # Phase 2: a steady rate.
            time.sleep(2)
            last = Delivery.objects.order_by("-id").values_list("id", flat=True).first() or 0
            begin = time.monotonic()
            count = 0
            while time.monotonic() - begin < args.seconds:
                make_alert()
                count += 1
                time.sleep(max(0.0, begin + count / args.rate - time.monotonic()))
            ids = healthy_ids(last)
            wait_for(ids, 120)
            latencies = [
                arrivals[f"opsconsole-delivery-{i}"] - created.timestamp()
                for i, created in ids.items()
                if f"opsconsole-delivery-{i}" in arrivals
            ]
            print(
                f"steady: {count} alerts at {args.rate:g}/s ({len(ids)} healthy deliveries, "
                f"{len(ids) / args.seconds:.0f}/s), {len(latencies)} arrived: change -> delivery "
                f"p50 {statistics.median(latencies):.2f} s, p95 {percentile(latencies, 0.95):.2f} s, "
                f"p99 {percentile(latencies, 0.99):.2f} s, max {max(latencies):.2f} s"
            )
            dead_rows = Delivery.objects.filter(channel__name="dead")
            print(f"dead channel: {dead_rows.filter(status='sent').count()} sent of {dead_rows.count()} queued")

        senders = []
        try:
            measure(
                lambda: senders.append(
                    subprocess.Popen([sys.executable, "-c", SENDER], cwd=REPO, env=os.environ.copy())
                )
            )
        finally:
            for sender in senders:
                sender.terminate()
                sender.wait(10)
        control.close()
        child.wait(10)
        dead.close()


if __name__ == "__main__":
    main()
