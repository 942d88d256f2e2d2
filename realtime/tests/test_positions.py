"""Every socket of a durable endpoint learns its latest seq each summary interval (contract, section 10)."""

import pytest
from asgiref.sync import sync_to_async

from realtime.publish import broadcast_positions
from realtime.schedule import job_named
from realtime.tests.sockets import alert, ask, collect, connect, push

pytestmark = pytest.mark.django_db(transaction=True)


async def _position_after(socket):
    """The next ``position`` the socket hears, once the periodic job has run."""
    await sync_to_async(broadcast_positions)()
    for event in await collect(socket, 1):
        if event["type"] == "position":
            return event
    raise AssertionError("no position frame")


async def test_a_socket_subscribed_only_to_incidents_learns_the_seq_of_an_alert_it_never_hears():
    socket, hello = await connect("/ws/alerts")
    await ask(socket, {"type": "subscribe", "data": {"events": ["incident"]}})
    pushed = await push("alerts", "alert", alert(id=7))  # not an incident: this socket does not hear it
    position = await _position_after(socket)
    assert position["data"] == {"seq": pushed["meta"]["seq"]} == {"seq": hello["data"]["seq"] + 1}
    assert position["meta"] == {"at_seq": pushed["meta"]["seq"]}
    await socket.disconnect()


async def test_a_status_socket_learns_the_seq_of_its_endpoint():
    socket, hello = await connect("/ws/status")
    pushed = await push("status", "status", {"component": "db", "status": "ok"})
    assert (await collect(socket, 1))[0]["meta"]["seq"] == pushed["meta"]["seq"]
    position = await _position_after(socket)
    assert position["data"]["seq"] == position["meta"]["at_seq"] == pushed["meta"]["seq"]
    await socket.disconnect()


async def test_a_metrics_socket_gets_no_position_its_endpoint_has_no_seqs():
    socket, _ = await connect("/ws/metrics")
    await sync_to_async(broadcast_positions)()
    assert await socket.receive_nothing(timeout=0.5)
    await socket.disconnect()


def test_positions_go_out_every_summary_interval():
    job = job_named("broadcast-stream-positions")
    assert job.function is broadcast_positions
    assert job.interval_setting == "OPSCONSOLE_SUMMARY_INTERVAL"
