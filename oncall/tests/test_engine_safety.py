"""The engine under two evaluators at once and a worker killed mid-pass: nobody is paged twice or skipped."""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection, connections, transaction

from alerts.models import Delivery
from alerts.tests.factories import make_alert
from oncall.escalation import run_escalations
from oncall.models import Escalation
from oncall.tests.factories import make_policy, make_webhook_contact
from tests.factories import make_user

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").startswith("postgres") is False, reason="row locks: Postgres"
    ),
]
ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)


def team_policy():
    ana, bo = make_user(username="ana"), make_user(username="bo")
    # Nothing listens: this test counts what is queued, not what is sent.
    make_webhook_contact(ana, "http://127.0.0.1:9/ana")
    make_webhook_contact(bo, "http://127.0.0.1:9/bo")
    make_policy(
        [
            {"target": "users", "users": [ana], "wait_minutes": 5},
            {"target": "users", "users": [bo], "wait_minutes": 5},
        ]
    )
    return ana, bo


def pages_per_alert():
    rows = Delivery.objects.filter(event="alert.fired", channel__personal=True).values_list("alert_id", "channel__name")
    counts: dict[tuple[int | None, str], int] = {}
    for row in rows:
        counts[row] = counts.get(row, 0) + 1
    return counts


def test_two_evaluators_at_once_never_page_anyone_twice():
    team_policy()
    alerts = [make_alert(severity="critical") for _ in range(40)]
    Escalation.objects.update(next_at=T0)
    barrier = threading.Barrier(4)
    errors = []

    def evaluator():
        try:
            barrier.wait(timeout=10)
            run_escalations(T0 + timedelta(seconds=1))
        except Exception as error:  # noqa: BLE001  # surfaced below, in the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=evaluator) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    counts = pages_per_alert()
    assert set(counts.values()) == {1}
    assert {alert_id for alert_id, _ in counts} == {alert.pk for alert in alerts}  # everyone's step 1, once
    assert set(Escalation.objects.values_list("step", flat=True)) == {1}


def _database_url():
    from tests.live import with_database

    return with_database(os.environ["DATABASE_URL"], connection.settings_dict["NAME"])


def test_a_worker_killed_mid_escalation_resumes_at_the_right_step():
    team_policy()
    alert = make_alert(severity="critical")
    Escalation.objects.update(next_at=T0)
    run_escalations(T0)  # step 1: ana
    step_two = T0 + timedelta(minutes=5, seconds=1)
    env = {**os.environ, "DATABASE_URL": _database_url()}
    script = (
        "import django; django.setup(); from datetime import datetime;"
        "from oncall.escalation import run_escalations;"
        f"run_escalations(datetime.fromisoformat('{step_two.isoformat()}'))"
    )
    holder_ready, release = threading.Event(), threading.Event()

    def hold_the_escalation_row():
        # The worker locks the alert, then waits here for the escalation row: killed in mid-pass.
        with transaction.atomic():
            Escalation.objects.select_for_update().get(alert=alert)
            holder_ready.set()
            release.wait(30)
        connections.close_all()

    holder = threading.Thread(target=hold_the_escalation_row)
    holder.start()
    assert holder_ready.wait(10)
    worker = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not _worker_is_waiting_for_a_lock():
            time.sleep(0.05)
        assert _worker_is_waiting_for_a_lock(), "the worker reached the escalation row"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        release.set()
        holder.join(30)
        worker.kill()
    # The killed worker's backend rolls back (and lets go of the alert) once it finds its client gone.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _other_backends_in_a_transaction():
        time.sleep(0.05)
    assert not _other_backends_in_a_transaction()

    assert Escalation.objects.get(alert=alert).step == 1  # the killed pass left nothing behind
    run_escalations(step_two)
    run_escalations(step_two)  # and a duplicate beat adds nothing

    assert sorted(name for _, name in pages_per_alert()) == ["@ana webhook", "@bo webhook"]
    assert Escalation.objects.get(alert=alert).step == 2


def _worker_is_waiting_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE '%oncall_escalation%'"
        )
        return cursor.fetchone()[0] > 0


def _other_backends_in_a_transaction() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
        )
        return cursor.fetchone()[0] > 0
