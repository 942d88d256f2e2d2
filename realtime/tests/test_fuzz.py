"""Random JSON and random bytes never crash a consumer; each gets an answer and the socket stays usable."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsconsole.routing import router
from tests.factories import make_token
from tests.live import run_coroutine

pytestmark = pytest.mark.django_db(transaction=True)

ERROR_CODES = {"INVALID_JSON", "UNKNOWN_TYPE", "INVALID_MESSAGE", "MESSAGE_TOO_LARGE", "RATE_LIMIT_EXCEEDED"}
ANSWERS = {"pong", "subscription", "unsubscription", "data", "resumed", "resync_required", "ack", "error"}

# Strings include control characters and lone surrogates: json.dumps sends
# them as \u escapes, the only way they reach the server.
odd_text = st.text(
    st.characters(categories=["Cs"])
    | st.characters(categories=["Cc"])
    | st.characters(categories=["L", "N", "Zs", "So"]),
    max_size=20,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | odd_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
client_types = st.sampled_from(["ping", "subscribe", "unsubscribe", "request_data", "resume", "set_interval", "other"])
# Frames shaped like the protocol's, so odd strings reach the validators and
# whatever echoes them (subscription, error messages, the metrics query).
lone_surrogate = st.characters(categories=["Cs"]).map(lambda char: f"web-{char}")  # odd_text mostly pairs them
odd_lists = st.lists(
    odd_text | lone_surrogate | st.sampled_from(["alert", "alert.cpu", "performance", "warning"]),
    min_size=1,
    max_size=3,
)
shaped_data = st.one_of(
    st.fixed_dictionaries({"events": odd_lists}),
    st.fixed_dictionaries(
        {
            "filters": st.dictionaries(
                st.sampled_from(["severity", "category", "source", "status", "host", "name"]) | odd_text,
                odd_lists,
                max_size=3,
            )
        }
    ),
    st.fixed_dictionaries({"metrics": odd_lists, "tags": st.dictionaries(odd_text, odd_text, max_size=2)}),
)
frames = st.one_of(
    st.binary(min_size=1, max_size=200),
    st.text(min_size=1, max_size=200),
    json_values.map(json.dumps),
    st.builds(lambda type_, data: json.dumps({"type": type_, "data": data}), client_types, json_values),
    st.builds(
        lambda type_, data: json.dumps({"type": type_, "data": data}),
        st.sampled_from(["subscribe", "unsubscribe", "request_data"]),
        shaped_data,
    ),
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
    answer, pong = run_coroutine(answer_then_pong(frame))
    assert answer["type"] in ANSWERS
    if answer["type"] == "error":
        assert answer["data"]["code"] in ERROR_CODES
    assert pong["type"] == "pong"


# -- Hostile frames, one behaviour each: the contract's error code, then the socket still answers `ping`. ---------

MAX_FRAME_BYTES = 64 * 1024  # contract, section 3


def deeply_nested(depth, inner="1"):
    return "[" * depth + inner + "]" * depth


async def answer_then_pong(frame, path="/ws/metrics"):
    """The server's answer to ``frame`` (as sent on the wire) and proof the socket still serves a ping."""
    channel_layers.backends = {}
    key = await staff_key()
    socket = WebsocketCommunicator(router, path, headers=[(b"authorization", f"Token {key}".encode())])
    assert (await socket.connect(timeout=5))[0]
    await socket.receive_json_from(timeout=5)
    if isinstance(frame, bytes):
        await socket.send_to(bytes_data=frame)
    else:
        await socket.send_to(text_data=frame)
    text = await socket.receive_from(timeout=5)
    # The transport sends text frames as UTF-8: a lone surrogate echoed back
    # would fail there, in daphne, not here; so check what the wire needs.
    text.encode("utf-8")
    answer = json.loads(text)
    await socket.send_json_to({"type": "ping"})
    for _ in range(10):  # a push may come first; the pong must follow
        if (pong := await socket.receive_json_from(timeout=5))["type"] == "pong":
            break
    await socket.disconnect()
    return answer, pong


def assert_error_then_pong(result, code):
    answer, pong = result
    assert answer["type"] == "error" and answer["data"]["code"] == code, answer
    assert isinstance(answer["data"]["message"], str) and answer["data"]["message"]
    assert pong["type"] == "pong"


@pytest.mark.parametrize("kind", ["text", "binary"])
def test_a_frame_over_64_kib_is_message_too_large(kind):
    frame = json.dumps({"type": "ping", "data": {"pad": "x" * MAX_FRAME_BYTES}})
    sent = frame if kind == "text" else frame.encode()
    assert_error_then_pong(run_coroutine(answer_then_pong(sent)), "MESSAGE_TOO_LARGE")


def test_a_frame_of_64_kib_in_multibyte_characters_is_message_too_large():
    # 22,000 characters, 88,000 bytes: the limit is on bytes, as sent.
    frame = json.dumps({"type": "ping", "data": {"pad": "😀" * 22_000}}, ensure_ascii=False)
    assert len(frame) < MAX_FRAME_BYTES < len(frame.encode())
    assert_error_then_pong(run_coroutine(answer_then_pong(frame)), "MESSAGE_TOO_LARGE")


@pytest.mark.parametrize("brackets", ["arrays", "objects"])
def test_json_nested_ten_thousand_levels_deep_is_invalid_json(brackets):
    frame = deeply_nested(10_000) if brackets == "arrays" else '{"a":' * 10_000 + "1" + "}" * 10_000
    assert_error_then_pong(run_coroutine(answer_then_pong(frame)), "INVALID_JSON")


@pytest.mark.parametrize("where", ["data", "filters", "events", "metrics", "since"])
def test_deep_nesting_inside_a_valid_frame_is_invalid_message(where):
    deep = json.loads(deeply_nested(900))  # parses; validators must refuse it without recursing into it
    frame = {
        "data": {"type": "subscribe", "data": deep},
        "filters": {"type": "subscribe", "data": {"filters": {"host": deep}}},
        "events": {"type": "subscribe", "data": {"events": deep}},
        "metrics": {"type": "request_data", "data": {"metrics": deep}},
        "since": {"type": "resume", "data": {"since": deep}},
    }[where]
    assert_error_then_pong(run_coroutine(answer_then_pong(json.dumps(frame))), "INVALID_MESSAGE")


@pytest.mark.parametrize(
    "frame",
    [b'{"type": "ping\xff"}', b"\xc3\x28", b"\xed\xa0\x80", b'{"type": "ping", "data": {"x": "\xf4\x90\x80\x80"}}'],
    ids=["bad-byte-in-json", "bad-continuation", "encoded-surrogate", "beyond-unicode"],
)
def test_invalid_utf8_in_a_binary_frame_is_invalid_json(frame):
    assert_error_then_pong(run_coroutine(answer_then_pong(frame)), "INVALID_JSON")


def test_a_subscribe_filter_of_ten_thousand_values_is_message_too_large():
    values = [f"host-{index}" for index in range(10_000)]
    frame = json.dumps({"type": "subscribe", "data": {"filters": {"host": values}}})
    assert len(frame.encode()) > MAX_FRAME_BYTES
    assert_error_then_pong(run_coroutine(answer_then_pong(frame)), "MESSAGE_TOO_LARGE")


@pytest.mark.parametrize("field", ["events", "filters"])
def test_a_subscribe_list_longer_than_the_protocol_allows_is_invalid_message(field):
    # Under 64 KiB, so the list length itself is what is refused.
    values = ["a"] * 5_000
    data = {"events": values} if field == "events" else {"filters": {"severity": values}}
    frame = json.dumps({"type": "subscribe", "data": data})
    assert_error_then_pong(run_coroutine(answer_then_pong(frame)), "INVALID_MESSAGE")


def test_a_subscribe_with_thousands_of_filter_names_is_invalid_message():
    filters = {f"field{index}": ["x"] for index in range(3_000)}
    frame = json.dumps({"type": "subscribe", "data": {"filters": filters}})
    assert len(frame.encode()) < MAX_FRAME_BYTES
    assert_error_then_pong(run_coroutine(answer_then_pong(frame)), "INVALID_MESSAGE")


@pytest.mark.parametrize(
    "frame",
    [
        '{"type": "\\ud800"}',
        '{"type": "subscribe", "data": {"filters": {"\\ud800": ["x"]}}}',
        '{"type": "subscribe", "data": {"filters": {"host": ["web-\\udfff"]}}}',
        '{"type": "request_data", "data": {"metrics": ["\\ud800"]}}',
        '{"type": "request_data", "data": {"metrics": ["m"], "tags": {"\\ud800": "x"}}}',
    ],
    ids=["type", "filter-name", "filter-value", "metric-name", "tag-name"],
)
def test_a_lone_surrogate_escape_anywhere_is_invalid_message(frame):
    # Echoed back (an error message, a subscription) it would make a frame
    # that cannot be sent as UTF-8, and daphne would end the connection.
    assert_error_then_pong(run_coroutine(answer_then_pong(frame)), "INVALID_MESSAGE")


def test_a_surrogate_pair_escape_is_a_character_like_any_other():
    frame = '{"type": "subscribe", "data": {"filters": {"host": ["web-\\ud83d\\ude00"]}}}'
    answer, pong = run_coroutine(answer_then_pong(frame))
    assert answer["type"] == "subscription" and answer["data"]["filters"] == {"host": ["web-😀"]}, answer
    assert pong["type"] == "pong"


def test_a_nul_in_the_type_is_unknown_type():
    assert_error_then_pong(run_coroutine(answer_then_pong('{"type": "ping\\u0000"}')), "UNKNOWN_TYPE")


@pytest.mark.parametrize(
    "frame",
    [
        '{"type": "subscribe", "data": {"filters": {"host\\u0000": ["x"]}}}',
        '{"type": "subscribe", "data": {"filters": {"host": ["web\\u0000"]}}}',
        '{"type": "subscribe", "data": {"filters": {"host": ["a\\tb"]}}}',
        '{"type": "subscribe", "data": {"events": ["alert\\u0000"]}}',
    ],
    ids=["filter-name", "filter-value", "tab-in-filter-value", "event-name"],
)
def test_a_control_character_in_a_subscription_is_invalid_message(frame):
    assert_error_then_pong(run_coroutine(answer_then_pong(frame)), "INVALID_MESSAGE")


def test_request_data_for_a_metric_name_with_a_nul_is_invalid_message():
    # Postgres text cannot hold NUL: before the check the query raised and the connection ended.
    frame = '{"type": "request_data", "data": {"metrics": ["cpu\\u0000"]}}'
    assert_error_then_pong(run_coroutine(answer_then_pong(frame)), "INVALID_MESSAGE")


def test_request_data_with_a_nul_in_a_tag_value_answers_no_series_and_the_socket_survives():
    frame = '{"type": "request_data", "data": {"metrics": ["m"], "tags": {"host": "a\\u0000"}}}'
    answer, pong = run_coroutine(answer_then_pong(frame))
    assert answer["type"] == "data" and answer["data"]["series"] == [] and pong["type"] == "pong", answer


@pytest.mark.parametrize(
    "data",
    [
        {"since": 2**63},
        {"since": -1},
        {"since": 1e308},
        {"since": "NaN"},
        {"ms": 10**30},
        {"ms": 0.5},
        {"history_minutes": 10**30, "metrics": ["m"]},
        {"history_minutes": -1, "metrics": ["m"]},
    ],
    ids=lambda data: repr(data)[:30],
)
def test_numbers_out_of_range_are_invalid_message(data):
    type_ = "resume" if "since" in data else "set_interval" if "ms" in data else "request_data"
    frame = json.dumps({"type": type_, "data": data})
    assert_error_then_pong(run_coroutine(answer_then_pong(frame)), "INVALID_MESSAGE")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_are_refused(literal):
    answer, pong = run_coroutine(answer_then_pong(f'{{"type": "resume", "data": {{"since": {literal}}}}}'))
    assert answer["type"] == "error" and answer["data"]["code"] in {"INVALID_JSON", "INVALID_MESSAGE"}, answer
    assert pong["type"] == "pong"
