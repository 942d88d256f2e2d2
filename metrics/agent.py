"""Push this host's metrics to an opsconsole.

    OPSCONSOLE_TOKEN=oc_... python -m metrics.agent --url http://console:8000 [--interval 5] [--tag dc=eu-1]

The API token comes from ``OPSCONSOLE_TOKEN``, ``--token-file`` (e.g. a
mounted secret) or ``--token`` (visible in ``ps``; for trials). It logs where
it sends as its first line. Standard library and psutil only (no Django):
copy this file to any host.
While the console is unreachable, points are kept in a bounded buffer (the
oldest are dropped first when it is full) and sent once it answers again,
with exponential backoff and jitter between attempts. A batch the console
refuses as invalid (400) is dropped and logged, never retried forever; a
refused token (401/403) stops the agent with exit status 3, since no retry
can fix it.
"""

import argparse
import collections
import gzip
import json
import logging
import os
import random
import signal
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import psutil

logger = logging.getLogger("opsconsole.agent")

BATCH_LIMIT = 10_000
CPU_SAMPLE_SECONDS = 0.5  # the first CPU reading measures over this long; later ones since the previous
EXIT_TOKEN_REFUSED = 3
BACKOFF_BASE, BACKOFF_CAP = 1.0, 60.0


# Units as OTLP writes them, stored on each series and shown on the console's chart axes.
UNITS = {
    "cpu_percent": "%",
    "memory_percent": "%",
    "disk_usage_percent": "%",
    "network_bytes_sent": "By",
    "network_bytes_recv": "By",
}


def snapshot(tags, first=False):
    """This host's numbers now, as ingest points.

    psutil's CPU figure is the use since its previous call; the first call has
    none, so the first snapshot measures over CPU_SAMPLE_SECONDS instead of
    reporting a meaningless 0.0.
    """
    cpu = psutil.cpu_percent(interval=CPU_SAMPLE_SECONDS if first else None)
    now = time.time()
    network = psutil.net_io_counters()
    load_1m, load_5m, load_15m = psutil.getloadavg()
    values = {
        "cpu_percent": cpu,
        "memory_percent": psutil.virtual_memory().percent,
        "disk_usage_percent": psutil.disk_usage("/").percent,
        "network_bytes_sent": network.bytes_sent,
        "network_bytes_recv": network.bytes_recv,
        "process_count": len(psutil.pids()),
        "load_1m": load_1m,
        "load_5m": load_5m,
        "load_15m": load_15m,
    }
    points = [{"name": name, "value": float(value), "timestamp": now, "tags": tags} for name, value in values.items()]
    for point in points:
        if point["name"] in UNITS:
            point["unit"] = UNITS[point["name"]]
    return points


class Agent:
    def __init__(self, url, token, tags, interval=5.0, buffer_limit=100_000, timeout=10.0):
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"The console URL must be http or https, not {url!r}")
        self.endpoint = url.rstrip("/") + "/api/v1/metrics/ingest/"
        self.token = token
        self.tags = tags
        self.interval = interval
        self.timeout = timeout
        self.buffer: collections.deque[dict[str, object]] = collections.deque(maxlen=buffer_limit)
        self.failures = 0
        self.next_attempt = 0.0
        self.stats = collections.Counter(collected=0, delivered=0, rejected=0, overflowed=0)
        self.running = True
        self.token_refused = False
        self._measured = False

    def collect(self):
        points = snapshot(self.tags, first=not self._measured)
        self._measured = True
        overflow = max(0, len(self.buffer) + len(points) - (self.buffer.maxlen or 0))
        self.stats["overflowed"] += overflow
        self.buffer.extend(points)
        self.stats["collected"] += len(points)

    def _post(self, points):
        body = gzip.compress(json.dumps({"points": points}).encode())
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.endpoint,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
                "Authorization": f"Token {self.token}",
            },
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - scheme checked in __init__
            return response.status

    def flush(self):
        """Send buffered points, oldest first, until the buffer is empty or the console fails."""
        if time.monotonic() < self.next_attempt:
            return
        while self.buffer:
            batch = [self.buffer[index] for index in range(min(BATCH_LIMIT, len(self.buffer)))]
            try:
                self._post(batch)
            except urllib.error.HTTPError as error:
                if error.code in (401, 403):
                    logger.error(
                        "The console refused the API token (HTTP %d: %s): set OPSCONSOLE_TOKEN to a valid token "
                        "of a user who may add metrics; stopping with %d points unsent",
                        error.code,
                        error.read()[:200].decode("utf-8", "replace"),
                        len(self.buffer),
                    )
                    self.token_refused = True
                    self.running = False
                    return
                if error.code == 400:
                    logger.error("The console refused %d points as invalid: %s", len(batch), error.read()[:500])
                    self.stats["rejected"] += len(batch)
                    self._drop(len(batch))
                    continue
                self._back_off(f"HTTP {error.code}")
                return
            except (urllib.error.URLError, OSError) as error:
                self._back_off(str(getattr(error, "reason", error)))
                return
            self._drop(len(batch))
            self.stats["delivered"] += len(batch)
            self.failures = 0

    def _drop(self, count):
        for _ in range(count):
            self.buffer.popleft()

    def _back_off(self, reason):
        self.failures += 1
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2**self.failures)
        delay = random.uniform(BACKOFF_BASE / 2, ceiling)  # noqa: S311 - jitter, not a secret
        self.next_attempt = time.monotonic() + delay
        logger.warning(
            "Console unreachable (%s); %d points buffered; next try in %.1f s", reason, len(self.buffer), delay
        )

    def run(self):
        logger.info(
            "Sending %s's metrics every %g s to %s (tags %s)",
            self.tags.get("host", "this host"),
            self.interval,
            self.endpoint,
            self.tags,
        )
        while self.running:
            started = time.monotonic()
            self.collect()
            self.flush()
            time.sleep(max(0.0, self.interval - (time.monotonic() - started)))
        if not self.token_refused:
            self.next_attempt = 0.0
            self.flush()  # a last try before leaving
        logger.info("Stopped: %s; %d points still buffered", dict(self.stats), len(self.buffer))
        return self.stats

    def stop(self, *_):
        self.running = False


def parse_tags(values):
    tags = {}
    for value in values:
        key, sep, tag_value = value.partition("=")
        if not sep or not key or not tag_value:
            raise argparse.ArgumentTypeError(f"--tag {value!r} is not key=value")
        tags[key] = tag_value
    return tags


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m metrics.agent", description="Push this host's metrics to opsconsole."
    )
    parser.add_argument("--url", required=True, help="the console's base URL, e.g. http://console:8000")
    parser.add_argument("--token", help="an API token (manage.py create_api_token); default $OPSCONSOLE_TOKEN")
    parser.add_argument("--token-file", help="a file holding the API token (e.g. a mounted secret)")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between measurements (default 5)")
    parser.add_argument("--tag", action="append", default=[], help="extra tag key=value (repeatable)")
    parser.add_argument("--host", default=socket.gethostname(), help="the host tag (default: this machine's name)")
    parser.add_argument("--buffer", type=int, default=100_000, help="points kept while the console is down")
    args = parser.parse_args(argv)
    if args.interval <= 0:
        parser.error("--interval must be positive")
    try:
        tags = {"host": args.host, **parse_tags(args.tag)}
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))
    token = args.token or os.environ.get("OPSCONSOLE_TOKEN", "")
    if args.token_file:
        try:
            with open(args.token_file, encoding="utf-8") as handle:
                token = handle.read().strip()
        except OSError as error:
            parser.error(f"--token-file: {error}")
    if not token:
        parser.error("no API token: set OPSCONSOLE_TOKEN, or give --token-file or --token")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        agent = Agent(args.url, token, tags, interval=args.interval, buffer_limit=args.buffer)
    except ValueError as error:
        parser.error(str(error))
    signal.signal(signal.SIGTERM, agent.stop)
    signal.signal(signal.SIGINT, agent.stop)
    stats = agent.run()
    print(json.dumps({**stats, "buffered": len(agent.buffer)}), flush=True)
    return EXIT_TOKEN_REFUSED if agent.token_refused else 0


if __name__ == "__main__":
    sys.exit(main())
