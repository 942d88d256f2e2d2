"""The relay: contiguous seqs in commit order, none twice or skipped, and a stream Redis refuses said out loud."""

import threading

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import connection, transaction

from alerts import incidents, services
from opsconsole.health import readiness
from realtime import relay as relay_module
from realtime.models import StreamCursor, StreamEvent
from realtime.publish import record_event
from realtime.relay import _number, degraded_streams, relay, relay_all
from realtime.replay import RedisReplayBuffer, cursor_for
from realtime.tests.streams import position, published_count, sent_since, stream_mark
from realtime.topics import ALERTS, STATUS

pytestmark = pytest.mark.django_db(transaction=True)
postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs concurrent writers (Postgres)")


def seqs_are_contiguous_and_sent():
    cursor = cursor_for(ALERTS)
    seqs = list(StreamEvent.objects.filter(topic=ALERTS).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1)), "seqs 1, 2, 3 … with no gap and none twice"
    assert cursor.last_seq == cursor.published_seq == len(seqs)


def test_every_change_gets_the_next_seq_and_is_sent_at_commit():
    mark = stream_mark()
    alert, _ = services.raise_alert(source="web-1", title="disk full")
    services.acknowledge(alert.pk, "alice")
    incidents.open_incident(title="outage", actor="bob", alert_ids=[alert.pk])
    services.resolve(alert.pk, "carol")
    sent = sent_since(mark)
    assert [event["seq"] for event in sent] == list(range(sent[0]["seq"], sent[0]["seq"] + 5))
    # Opening the incident changes the attached alert too: both are pushed.
    assert [event["type"] for event in sent] == ["alert", "alert", "alert", "incident", "alert"]
    seqs_are_contiguous_and_sent()


def test_a_rolled_back_change_records_nothing():
    mark = stream_mark()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.raise_alert(source="web-1", title="never")
        raise RuntimeError
    assert not StreamEvent.objects.filter(id__gt=mark).exists()


def test_versions_go_up_with_every_change_of_an_alert_and_an_incident():
    alert, _ = services.raise_alert(source="web-1", title="disk full")
    versions = [alert.version]
    services.raise_alert(source="web-1", title="disk full")  # a repeat: one more occurrence
    versions.append(services.acknowledge(alert.pk, "alice").version)
    incident = incidents.open_incident(title="outage", actor="bob")
    incident_versions = [incident.version]
    incidents.attach_alerts(incident.pk, [alert.pk], "bob")
    incident.refresh_from_db()
    incident_versions.append(incident.version)
    versions.append(services.resolve(alert.pk, "carol").version)
    alert.refresh_from_db()
    assert (
        versions == sorted(set(versions)) and alert.version == versions[-1] == 5
    )  # fired, repeat, ack, attach, resolve
    assert incident_versions == sorted(set(incident_versions))
    pushed = [
        event["data"]["version"]
        for event in sent_since(0)
        if event["type"] == "alert" and event["data"]["id"] == alert.pk
    ]
    assert pushed == sorted(pushed) and pushed[-1] == alert.version


def test_a_relay_that_died_after_numbering_is_finished_by_the_periodic_pass():
    with transaction.atomic():
        record_event(ALERTS, "alert", {"id": 1, "version": 1})
        transaction.get_connection().run_on_commit.clear()  # the process died before its commit hook ran
    cursor_for(ALERTS)
    _number(ALERTS)  # … or died after numbering, before sending
    cursor = cursor_for(ALERTS)
    assert cursor.published_seq == cursor.last_seq - 1
    before = published_count(ALERTS, "alert")
    assert relay_all()[ALERTS] == 1
    assert published_count(ALERTS, "alert") == before + 1
    seqs_are_contiguous_and_sent()


@postgres_only
def test_two_relays_at_once_never_hand_out_a_seq_twice_nor_skip_one():
    StreamEvent.objects.bulk_create(StreamEvent(topic=ALERTS, type="alert", data={"id": n}) for n in range(400))
    before = published_count(ALERTS, "alert")
    errors = []

    def run():
        try:
            relay(ALERTS)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    original = relay_module._passes
    try:
        relay_module._passes = _NoLock()  # type: ignore[assignment]  # past the per-process lock, as two processes are
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        relay_module._passes = original
    assert not errors
    seqs_are_contiguous_and_sent()
    assert published_count(ALERTS, "alert") == before + 400, "each event sent once"


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def acquire(self, blocking=True):
        return True

    def release(self):
        pass


@postgres_only
def test_a_row_that_commits_late_with_a_lower_id_is_numbered_not_skipped():
    inserted, release = threading.Event(), threading.Event()

    def slow_writer():
        try:
            with transaction.atomic():
                StreamEvent.objects.create(topic=ALERTS, type="alert", data={"id": 1, "late": True})
                inserted.set()
                release.wait(10)
            relay(ALERTS, from_commit=True)
        finally:
            connection.close()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert inserted.wait(10)
    services.raise_alert(source="web-2", title="committed first")  # a higher id, committed and sent first
    first = StreamEvent.objects.get(seq__isnull=False)
    release.set()
    writer.join(10)
    late = StreamEvent.objects.get(data__late=True)
    assert first.seq is not None and late.pk < first.pk and late.seq == first.seq + 1
    seqs_are_contiguous_and_sent()


@pytest.mark.skipif(not settings.REDIS_URL, reason="the embedded shape's buffer is this process's memory")
def test_a_refused_write_marks_the_stream_degraded_for_every_process_until_redis_takes_writes(monkeypatch):
    services.raise_alert(source="web-1", title="before")
    # A Redis that does not answer at all: the buffer write fails, as a full one's does.
    monkeypatch.setattr(relay_module, "replay_buffer", lambda: RedisReplayBuffer("redis://127.0.0.1:9/0", "x"))
    alert, _ = services.raise_alert(source="web-1", title="during")  # committed: the write itself succeeds
    assert ALERTS in degraded_streams()
    assert "replay buffer" in StreamCursor.objects.get(topic=ALERTS).degraded_reason
    checks = async_to_sync(readiness)()
    assert checks["stream"]["status"] == "fail" and "alerts stream degraded" in checks["stream"]["error"]
    monkeypatch.undo()
    relay_all()
    assert degraded_streams() == {}
    assert async_to_sync(readiness)()["stream"]["status"] == "ok"
    assert position() == cursor_for(ALERTS).last_seq


def test_an_event_left_unrelayed_by_a_dead_process_is_noticed_as_stalled():
    from datetime import timedelta

    from django.utils import timezone

    from realtime.relay import stalled

    relay_all()
    assert not stalled()
    StreamEvent.objects.create(topic=ALERTS, type="alert", data={"id": 1, "version": 1})  # no commit hook ran
    assert not stalled(), "a moment after its commit the relay may still be on its way"
    StreamEvent.objects.filter(seq__isnull=True).update(created_at=timezone.now() - timedelta(seconds=3))
    assert stalled()
    relay_all()
    assert not stalled()
    seqs_are_contiguous_and_sent()


@postgres_only
def test_a_commit_during_another_threads_pass_does_not_wait_and_its_event_still_goes():
    before = published_count(ALERTS, "alert")
    returned = threading.Event()

    def write():
        try:
            services.raise_alert(source="web-3", title="while another thread passes")
            returned.set()
        finally:
            connection.close()

    with relay_module._passes:  # another thread of this process is passing
        writer = threading.Thread(target=write)
        writer.start()
        assert returned.wait(10), "the commit waited for the other thread's pass"
        writer.join(10)
        assert published_count(ALERTS, "alert") == before  # left to the thread passing
    relay(STATUS)  # that thread, passing over another topic, takes what commits asked for before it lets go
    assert published_count(ALERTS, "alert") == before + 1
    seqs_are_contiguous_and_sent()
