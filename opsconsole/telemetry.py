"""The console's own metrics, for Prometheus at ``GET /metrics``: each defined once, summed over every process.

Every process of the console on a host (the daphne web processes, the Celery
worker, a ``manage.py`` command that publishes) counts into files of its own
under ``PROMETHEUS_MULTIPROC_DIR``, prometheus_client's multiprocess mode, and
a scrape of any web process sums them all: a scrape never reports one
process's numbers as the whole. Counters of a process that has ended stay in
the sum, so totals never go backwards; its open sockets (a ``livesum`` gauge)
leave the sum once it is gone.

The files are named by host name and pid (``counter_web-1-42.db``), not by pid
alone: containers that share the directory (docker-compose's ``metrics``
volume) each count from pid 1.
"""

import asyncio
import glob
import os
import re
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from django.conf import settings
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

DIRECTORY = Path(settings.PROMETHEUS_MULTIPROC_DIR)
# "_" separates the parts of the files' names: a host name must not bring one.
_HOST = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname())
_LIVE_GAUGES = "gauge_live*_*.db"


def process_id() -> str:
    """What names this process's files: unique among the processes that share the directory."""
    return f"{_HOST}-{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def forget_dead_processes() -> None:
    """Drop the live gauges (open sockets) of this host's processes that have ended, crashed ones included.

    Another host's processes sharing the directory are left alone: their pids
    mean nothing here. A container that restarts takes its old name again and
    drops its predecessor's gauges as it starts.
    """
    for path in glob.glob(str(DIRECTORY / _LIVE_GAUGES)):
        identity = os.path.basename(path)[: -len(".db")].rsplit("_", 1)[1]
        host, _, pid = identity.rpartition("-")
        if host == _HOST and pid.isdigit() and identity != process_id() and not _alive(int(pid)):
            mark_process_dead(identity, str(DIRECTORY))  # type: ignore[no-untyped-call]  # untyped upstream


def _use_directory() -> None:
    DIRECTORY.mkdir(parents=True, exist_ok=True)
    # prometheus_client opens the files under the directory this variable names.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(DIRECTORY)
    # Chosen before any metric below is made: each makes its values with ValueClass.
    values.ValueClass = values.MultiProcessValue(process_id)  # type: ignore[no-untyped-call]  # untyped upstream
    # Gauges a dead process of the same name left (a restarted container is pid 1 again).
    mark_process_dead(process_id(), str(DIRECTORY))  # type: ignore[no-untyped-call]


_use_directory()

SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
HTTP_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))

http_requests = Counter(
    "opsconsole_http_requests",
    "HTTP requests answered, by view (URL pattern name), method and status code.",
    ["view", "method", "status"],
    registry=None,
)
http_request_duration = Histogram(
    "opsconsole_http_request_duration_seconds",
    "Time from a request's arrival to its response, by view.",
    ["view"],
    buckets=SECONDS_BUCKETS,
    registry=None,
)
ws_sockets = Gauge(
    "opsconsole_ws_sockets",
    "WebSocket sockets open (let in: authenticated, under the caps), by endpoint.",
    ["endpoint"],
    multiprocess_mode="livesum",
    registry=None,
)
events_published = Counter(
    "opsconsole_events_published",
    "Events published to the sockets (numbered and sent to the channel layer), by topic and type.",
    ["topic", "type"],
    registry=None,
)
publish_failures = Counter(
    "opsconsole_publish_failures",
    "Publishes the channel layer or the replay buffer did not take, by topic.",
    ["topic"],
    registry=None,
)
ws_events_delivered = Counter(
    "opsconsole_ws_events_delivered",
    "Pushed events handed to sockets: an event sent to ten sockets counts ten, a batch counts its events.",
    ["endpoint"],
    registry=None,
)
ws_delivery_latency = Histogram(
    "opsconsole_ws_delivery_latency_seconds",
    "Time from an event's publish (its envelope timestamp, ms) to its hand-over to a socket, per socket.",
    ["endpoint"],
    buckets=SECONDS_BUCKETS,
    registry=None,
)
notifications = Counter(
    "opsconsole_notifications",
    "Notification attempts by channel kind and outcome (sent, retrying, failed).",
    ["kind", "outcome"],
    registry=None,
)
job_runs = Counter("opsconsole_job_runs", "Periodic job runs, failed ones included.", ["periodic_job"], registry=None)
job_failures = Counter("opsconsole_job_failures", "Periodic job runs that raised.", ["periodic_job"], registry=None)
job_duration = Histogram(
    "opsconsole_job_duration_seconds",
    "How long each periodic job run took.",
    ["periodic_job"],
    buckets=SECONDS_BUCKETS,
    registry=None,
)
ingest_points = Counter(
    "opsconsole_ingest_points",
    "Metric points accepted (committed) or refused (in a request turned down as invalid: all or nothing).",
    ["outcome"],
    registry=None,
)


def observe_request(view: str, method: str, status: int, seconds: float) -> None:
    method = method if method in HTTP_METHODS else "other"  # clients choose methods: keep the labels bounded
    http_requests.labels(view, method, str(status)).inc()
    http_request_duration.labels(view).observe(seconds)


class Published(Protocol):
    """A pushed event's frame as the tally reads it (``realtime.frames.Frame``)."""

    published: float | None


class DeliveryTally:
    """Events handed to one endpoint's sockets and their latency, counted in plain numbers, written out in bulk.

    The broadcast path runs once per socket and event. A counter increment
    and a histogram observation there (a lock and three mmap writes each
    time) added 4.4 us per socket and event to a hand-over of 1.3 us
    (``bench/delivery.py``); this tally adds 0.5 us. What is counted goes to
    the shared files ``FLUSH_AFTER`` seconds after the first count since the
    last write, in one increment per bucket, from the event loop the
    counting happened on.
    """

    FLUSH_AFTER = 0.5

    def __init__(self, endpoint: str) -> None:
        self._delivered = ws_events_delivered.labels(endpoint)
        self._latency = ws_delivery_latency.labels(endpoint)
        self._bounds = tuple(SECONDS_BUCKETS) + (float("inf"),)
        self._counts = [0] * len(self._bounds)
        self._events = 0
        self._seconds = 0.0
        self._flush_on: asyncio.AbstractEventLoop | None = None  # the loop a write is due on

    def record(self, frames: Iterable[Published], now: float) -> None:
        """Count one socket's hand-over, at wall-clock ``now``, of ``frames`` (their ``published``: epoch s)."""
        bounds, counts = self._bounds, self._counts
        for frame in frames:
            self._events += 1
            at = frame.published
            if at is None:
                continue  # no publish time known: counted as delivered, not timed
            latency = now - at if now > at else 0.0  # clocks of two hosts may disagree a little
            self._seconds += latency
            index = 0
            while latency > bounds[index]:  # nearly all land in the first few buckets
                index += 1
            counts[index] += 1
        loop = asyncio.get_running_loop()
        if self._flush_on is not loop:  # none due, or due on a loop that has closed since (tests run many)
            self._flush_on = loop
            loop.call_later(self.FLUSH_AFTER, self.flush)

    def flush(self) -> None:
        """Write what was counted to the shared files (what a scrape reads); on the loop that counted."""
        self._flush_on = None
        if self._events:
            self._delivered.inc(self._events)
            self._events = 0
        if any(self._counts):
            # Histogram.observe adds one to one bucket and the value to the sum; this adds many at once
            # (docs/internals.md, prometheus-histogram-parts).
            self._latency._sum.inc(self._seconds)
            for index, count in enumerate(self._counts):
                if count:
                    self._latency._buckets[index].inc(count)
            self._counts = [0] * len(self._bounds)
            self._seconds = 0.0


_tallies: dict[str, DeliveryTally] = {}


def delivery_tally(endpoint: str) -> DeliveryTally:
    """This process's tally for ``endpoint``, shared by all its sockets there."""
    tally = _tallies.get(endpoint)
    if tally is None:
        tally = _tallies[endpoint] = DeliveryTally(endpoint)
    return tally


def flush_deliveries() -> None:
    """Write every tally out now; from the event loop's thread (tests)."""
    for tally in _tallies.values():
        tally.flush()


def exposition(accept: str) -> tuple[bytes, str]:
    """Every process's metrics on this host, summed, as text in the format ``accept`` asks for; and its type.

    The Prometheus text format (0.0.4) unless the scraper asks for OpenMetrics.
    Delivery counts are as their processes last wrote them, at most
    ``DeliveryTally.FLUSH_AFTER`` ago (this one's too: its tallies belong to
    the event loop, not to the request's thread).
    """
    forget_dead_processes()
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(DIRECTORY))  # type: ignore[no-untyped-call]  # untyped upstream
    encode, content_type = choose_encoder(accept)
    return encode(registry), content_type


def empty_directory() -> None:
    """Remove the files of every other process: only where none can be running (the embedded ``serve``)."""
    own = f"_{process_id()}.db"
    for path in glob.glob(str(DIRECTORY / "*.db")):
        if not path.endswith(own):
            os.remove(path)
