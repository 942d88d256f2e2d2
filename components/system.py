"""The console reporting its own parts: web processes, the Celery worker and beat.

Each is a component like any other, so a stopped one goes missing on
``/status/`` and raises the same ``heartbeat`` alert:

- ``beat`` reports from its scheduler's tick (``realtime.heartbeat``): beat
  is alive when it ticks.
- ``worker`` reports from the heartbeat task beat sends and a worker runs: a
  worker is alive when it takes tasks off the queue. Beat stopped, the
  worker's reports stop too; the miss says so (``REPORTS_THROUGH``), and
  ``beat`` is then missing as well, which tells the two cases apart.
- each web process reports ``web-<host>-<pid>`` from a thread of its own,
  and reports ``stopped`` when it exits cleanly (a new pid is a new name, so
  a cleanly stopped one must not stay expected).

Starts and stops are also ``system`` events (``realtime.lifecycle``).
"""

import logging
import os
import socket
import threading
import time

from django.db import close_old_connections, connection

from components.models import SystemEvent
from components.services import check_missed_reports, report_status
from realtime.heartbeat import HEARTBEAT_INTERVAL_SECONDS, STALE_AFTER_SECONDS
from realtime.lifecycle import STARTED, STOPPED
from realtime.publish import record_event
from realtime.topics import STATUS

logger = logging.getLogger(__name__)

VERSION = "0.1.0"  # pyproject.toml's
EXPECT_EVERY = int(HEARTBEAT_INTERVAL_SECONDS)
# What /readyz already tolerates: three missed beats.
GRACE = int(STALE_AFTER_SECONDS - HEARTBEAT_INTERVAL_SECONDS)
WEB_REPORT_EVERY = 15
# Each web process also looks for missed reports this often: the worker that
# runs the periodic check may be the very part that stopped.
WEB_CHECK_EVERY = 5
_last_report: dict[str, float] = {}


def web_component_name(pid: int | None = None) -> str:
    return f"web-{socket.gethostname()}-{pid or os.getpid()}"


def system_data(event: SystemEvent) -> dict[str, object]:
    return {
        "event": event.event,
        "service": event.service,
        "pid": event.pid,
        "host": event.host,
        "version": event.version,
        "at": event.at.isoformat(),
    }


def record_system_event(event: str, service: str, pid: int) -> SystemEvent:
    """Store a process's start or stop and push it as ``system`` (after commit)."""
    row = SystemEvent.objects.create(event=event, service=service, pid=pid, host=socket.gethostname(), version=VERSION)
    record_event(STATUS, "system", system_data(row))
    return row


def on_process_event(event: str, service: str, pid: int) -> None:
    """``realtime.lifecycle``'s listener: record the event; a web process also reports itself."""
    _fresh_connection()
    record_system_event(event, service, pid)
    if service == "web":
        name = web_component_name(pid)
        if event == STARTED:
            report_status(name, "running", expect_every=WEB_REPORT_EVERY, details={"pid": pid})
            threading.Thread(target=_report_web_forever, args=(name, pid), name="report-web", daemon=True).start()
        elif event == STOPPED:
            report_status(name, "stopped", expect_every=WEB_REPORT_EVERY, details={"pid": pid})
    _fresh_connection()


def _fresh_connection() -> None:
    # Announcements come from threads of their own, signal handlers and exit
    # hooks, where the connection may have gone stale; inside a transaction
    # (a test's) it is the caller's to keep.
    if not connection.in_atomic_block:
        close_old_connections()


def _report_web_forever(name: str, pid: int) -> None:
    reported = time.monotonic()
    while True:
        time.sleep(WEB_CHECK_EVERY)
        try:
            close_old_connections()
            if time.monotonic() - reported >= WEB_REPORT_EVERY:
                report_status(name, "running", expect_every=WEB_REPORT_EVERY, details={"pid": pid})
                reported = time.monotonic()
            check_missed_reports()  # claimed row by row: several processes checking at once raise one alert
        except Exception:  # the database may be away for a while; the miss will say so
            logger.exception("Could not report %s", name)


def on_heartbeat(role: str) -> None:
    """``realtime.heartbeat``'s listener: report ``worker`` or ``beat``, at most once per interval per process.

    Beat ticks every few seconds; one database write per heartbeat interval is enough.
    """
    now = time.monotonic()
    if now - _last_report.get(role, float("-inf")) < HEARTBEAT_INTERVAL_SECONDS / 2:
        return
    _last_report[role] = now
    _fresh_connection()  # beat's one thread keeps its connection across a database restart otherwise
    report_status(role, "running", expect_every=EXPECT_EVERY, grace=GRACE, details={"pid": os.getpid()})
