"""The console's own parts report themselves: heartbeats become components, starts and stops system events."""

import os

import pytest

from components import system
from components.models import Component, SystemEvent
from realtime.heartbeat import record_heartbeat
from realtime.lifecycle import STARTED, STOPPED, announce

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle(monkeypatch):
    monkeypatch.setattr(system, "_last_report", {})
    monkeypatch.setattr(system.threading, "Thread", _NoThread)


class _NoThread:
    """The web process's reporting thread, not started: the test process is no web server."""

    def __init__(self, *args, **kwargs):
        pass

    def start(self):
        pass


def test_a_worker_heartbeat_reports_the_worker_component():
    record_heartbeat("worker")
    worker = Component.objects.get(name="worker")
    assert worker.status == "running" and worker.details == {"pid": os.getpid()}
    assert worker.expect_every + worker.grace == 30, "missing when /readyz calls it stale"


def test_beats_ticks_report_at_most_once_per_half_interval():
    record_heartbeat("beat")
    first = Component.objects.get(name="beat").last_check
    record_heartbeat("beat")
    assert Component.objects.get(name="beat").last_check == first


def test_a_web_process_start_and_stop_are_system_events_and_its_component_stops_being_expected():
    announce(STARTED, "web")
    name = system.web_component_name()
    assert Component.objects.get(name=name).status == "running"
    announce(STOPPED, "web")
    assert Component.objects.get(name=name).status == "stopped"
    assert list(SystemEvent.objects.values_list("event", "service", "pid")) == [
        ("started", "web", os.getpid()),
        ("stopped", "web", os.getpid()),
    ]


def test_a_worker_stop_is_an_event_but_the_worker_stays_expected():
    record_heartbeat("worker")
    announce(STOPPED, "worker")
    assert SystemEvent.objects.get().event == "stopped"
    assert Component.objects.get(name="worker").status == "running", "a stopped worker must go missing"
