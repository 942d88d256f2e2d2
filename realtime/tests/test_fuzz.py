"""Random JSON and random bytes never crash a consumer; each gets an answer and the socket stays usable."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsconsole.asgi import router
from tests.factories import make_token
from tests.live import run_coroutine

pytestmark = pytest.mark.django_db(transaction=True)

ERROR_CODES = {"INVALID_JSON", "UNKNOWN_TYPE", "INVALID_MESSAGE", "MESSAGE_TOO_LARGE", "RATE_LIMIT_EXCEEDED"}
ANSWERS = {"pong", "subscription", "unsubscription", "data", "resumed", "resync_required", "ack", "error"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
client_types = st.sampled_from(["ping", "subscribe", "unsubscribe", "request_data", "resume", "set_interval", "other"])
frames = st.one_of(
    st.binary(min_size=1, max_size=200),
    st.text(min_size=1, max_size=200),
    json_values.map(json.dumps),
    st.builds(lambda type_, data: json.dumps({"type": type_, "data": data}), client_types, json_values),
)


_keys = {}


async def staff_key():
    # One token for all examples: the database is only reset after the whole test.
    if "key" not in _keys:
        _keys["key"] = (await database_sync_to_async(make_token)())[1]
    return _keys["key"]


@pytest.fixture(autouse=True)
def _fresh_token_per_test():
    _keys.clear()
    yield
    _keys.clear()


@given(frame=frames)
@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_any_frame_gets_a_contract_answer_and_the_socket_stays_usable(frame):
    async def scenario():
        channel_layers.backends = {}
        key = await staff_key()
        socket = WebsocketCommunicator(router, "/ws/metrics", headers=[(b"authorization", f"Token {key}".encode())])
        assert (await socket.connect(timeout=5))[0]
        await socket.receive_json_from(timeout=5)
        if isinstance(frame, bytes):
            await socket.send_to(bytes_data=frame)
        else:
            await socket.send_to(text_data=frame)
        answer = await socket.receive_json_from(timeout=5)
        assert answer["type"] in ANSWERS
        if answer["type"] == "error":
            assert answer["data"]["code"] in ERROR_CODES
        await socket.send_json_to({"type": "ping"})
        while (reply := await socket.receive_json_from(timeout=5))["type"] != "pong":
            pass
        await socket.disconnect()

    run_coroutine(scenario())
