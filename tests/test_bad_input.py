"""Bad input on every JSON-accepting endpoint and every query string: a JSON 4xx, never a 5xx, nothing stored.

The contract (section 2): every error body is JSON, an object with ``detail``
or field names. Writes that are refused leave the database as it was: no
row added, none changed, no event in the log.

The limits these tests push against: Django's DATA_UPLOAD_MAX_MEMORY_SIZE
(2.5 MiB; DRF reads JSON bodies through ``request.body``, so it is the API's
body limit, answered 413), the ingest parser's own 16 MiB (decompressed),
JSON nesting (the ``json`` module raises RecursionError past ~1,000 levels),
and Postgres: text without NUL, timestamps within years 1-9999 in UTC, steps
that fit an interval.
"""

import gzip
import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from alerts.models import Alert, AlertEvent, AlertRule, Incident, Silence
from alerts.tests.factories import make_alert, make_incident
from metrics.api.parsers import MAX_BODY_BYTES
from metrics.models import Sample, Series

pytestmark = pytest.mark.django_db

JSON_WRITES = [
    "POST /api/v1/alerts/",
    "PATCH /api/v1/alerts/{alert}/",
    "POST /api/v1/alerts/{alert}/resolve/",
    "POST /api/v1/incidents/",
    "PATCH /api/v1/incidents/{incident}/",
    "POST /api/v1/incidents/{incident}/alerts/",
    "POST /api/v1/incidents/{incident}/notes/",
    "POST /api/v1/rules/",
    "PATCH /api/v1/rules/{rule}/",
    "POST /api/v1/silences/",
    "POST /api/v1/metrics/ingest/",
]
DRF_JSON_WRITES = [write for write in JSON_WRITES if "ingest" not in write]
LISTS = ["/api/v1/alerts/", "/api/v1/incidents/", "/api/v1/rules/", "/api/v1/silences/", "/api/v1/metrics/series/"]
INGEST = "/api/v1/metrics/ingest/"

# Timestamps no client should get stored, as JSON values: years 0 and 10000,
# offsets past ±24 h, times that leave years 1-9999 once in UTC, epochs far
# out either way, and not-a-date strings.
BAD_TIMES = [
    "0000-01-01T00:00:00Z",
    "10000-01-01T00:00:00Z",
    "2026-01-01T00:00:00+99:00",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "2026-13-45T99:99:99Z",
    "1e20",
    "",
    1e20,
    -1e20,
]
# JSON's non-standard constants, which Python's json module reads as floats.
NON_FINITE_LITERALS = ["NaN", "Infinity", "-Infinity"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Hundreds of cases each make a user; the real hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def api(client, staff_token):
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {staff_token}"
    return client


@pytest.fixture
def objects(db):
    rule = AlertRule.objects.create(name="cpu high", metric="cpu_percent", threshold=90, title="CPU {value}")
    return {"alert": make_alert().pk, "incident": make_incident().pk, "rule": rule.pk}


def send(api, write, objects, body, content_type="application/json", **extra):
    method, path = write.split(" ")
    return getattr(api, method.lower())(path.format(**objects), body, content_type=content_type, **extra)


def stored():
    """Everything a write could leave behind: rows, events, and the newest change of each kind."""
    return (
        [model.objects.count() for model in (Alert, AlertEvent, Incident, AlertRule, Silence, Series, Sample)],
        [model.objects.aggregate(last=Max("updated_at"))["last"] for model in (Alert, Incident, AlertRule)],
    )


def assert_contract_error(response, status):
    """The status, and a JSON object naming the reason: ``detail``, or field names with their messages."""
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert isinstance(body, dict) and body, body
    if "detail" in body:
        assert isinstance(body["detail"], str) and body["detail"].strip(), body
    else:
        for field, messages in body.items():
            assert messages and isinstance(messages, (list, dict)), (field, messages)
    return body


def nested(depth, opening="[", closing="]"):
    return (opening * depth + closing * depth).encode()


# -- Bodies: size, nesting, encoding, content type ------------------------------------------------------------------


@pytest.mark.parametrize("write", DRF_JSON_WRITES)
def test_a_body_over_djangos_upload_limit_is_a_413_naming_the_limit(api, objects, write):
    before = stored()
    body = json.dumps({"title": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})
    response = send(api, write, objects, body)
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in assert_contract_error(response, 413)["detail"]
    assert stored() == before


def test_an_ingest_body_over_16_mib_is_a_400_naming_the_limit(api):
    point = json.dumps({"name": "m", "value": 1.0, "tags": {"host": "x" * 150}})
    count = MAX_BODY_BYTES // len(point) + 1
    body = '{"points": [' + ",".join([point] * count) + "]}"
    assert len(body) > MAX_BODY_BYTES
    response = api.post(INGEST, body, content_type="application/json")
    assert str(MAX_BODY_BYTES) in assert_contract_error(response, 400)["detail"]
    assert Sample.objects.count() == 0


def test_a_gzip_body_that_inflates_past_16_mib_is_a_400(api):
    bomb = gzip.compress(b" " * (MAX_BODY_BYTES + 1024))  # ~16 KiB on the wire
    response = api.post(INGEST, bomb, content_type="application/json", HTTP_CONTENT_ENCODING="gzip")
    assert str(MAX_BODY_BYTES) in assert_contract_error(response, 400)["detail"]
    assert Sample.objects.count() == 0


@pytest.mark.parametrize("brackets", ["[]", "{}"], ids=["arrays", "objects"])
@pytest.mark.parametrize("write", JSON_WRITES)
def test_json_nested_ten_thousand_levels_deep_is_a_400(api, objects, write, brackets):
    before = stored()
    body = b'{"a":' * 10_000 + b"1" + b"}" * 10_000 if brackets == "{}" else nested(10_000)
    assert_contract_error(send(api, write, objects, body), 400)
    assert stored() == before


@pytest.mark.parametrize("write", JSON_WRITES)
def test_json_nested_just_under_the_parsers_limit_is_a_400_not_a_crash_further_in(api, objects, write):
    # 900 levels parse; serializers, validators and error rendering then get
    # the deep value and must refuse it without running out of stack.
    before = stored()
    value = "[" * 900 + "]" * 900
    fields = ["title", "labels", "points", "alerts", "text", "resolution"]  # one each endpoint reads
    body = "{" + ", ".join(f'"{field}": {value}' for field in fields) + "}"
    assert_contract_error(send(api, write, objects, body), 400)
    assert stored() == before


@pytest.mark.parametrize("write", JSON_WRITES)
def test_invalid_utf8_is_a_400(api, objects, write):
    before = stored()
    assert_contract_error(send(api, write, objects, b'{"title": "caf\xe9 \xff\xfe"}'), 400)
    assert stored() == before


@pytest.mark.parametrize(
    "escape", ["\\u0000", "\\ud800", "\\udfff"], ids=["nul", "lone-high-surrogate", "lone-low-surrogate"]
)
@pytest.mark.parametrize("where", ["value", "key"])
@pytest.mark.parametrize("write", JSON_WRITES)
def test_a_nul_or_lone_surrogate_escape_is_a_400_naming_it(api, objects, write, escape, where):
    before = stored()
    body = f'{{"title": "a{escape}b"}}' if where == "value" else f'{{"labels": {{"a{escape}b": "x"}}}}'
    detail = assert_contract_error(send(api, write, objects, body.encode()), 400)["detail"]
    assert "NUL character or an unpaired surrogate" in detail
    assert stored() == before


@pytest.mark.parametrize(
    ("write", "content_type"),
    [
        (write, content_type)
        for write in JSON_WRITES
        for content_type in ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
        # The ingest reads text/plain as Prometheus text exposition (contract, section 7).
        if not (write == f"POST {INGEST}" and content_type == "text/plain")
    ],
)
def test_a_body_that_is_not_declared_json_is_a_415(api, objects, write, content_type):
    before = stored()
    response = send(api, write, objects, b'{"title": "t", "source": "s"}', content_type=content_type)
    assert content_type in assert_contract_error(response, 415)["detail"]
    assert stored() == before


# -- Huge label and tag sets --------------------------------------------------------------------------------------


def test_ten_thousand_labels_on_an_alert_are_a_400_on_labels(api):
    labels = {f"label{index}": "v" for index in range(10_000)}
    body = {"source": "s", "title": "t", "labels": labels}
    response = api.post("/api/v1/alerts/", body, content_type="application/json")
    assert "labels" in assert_contract_error(response, 400)
    assert Alert.objects.count() == 0


def test_a_one_megabyte_label_value_is_a_400_on_labels(api):
    response = api.post(
        "/api/v1/alerts/",
        {"source": "s", "title": "t", "labels": {"host": "x" * 1_000_000}},
        content_type="application/json",
    )
    assert "labels" in assert_contract_error(response, 400)
    assert Alert.objects.count() == 0


def test_ten_thousand_tags_on_a_rule_are_a_400_on_tags(api):
    tags = {f"t{index}": "v" for index in range(10_000)}
    body = {"name": "r", "metric": "m", "threshold": 1, "title": "t", "tags": tags}
    assert "tags" in assert_contract_error(api.post("/api/v1/rules/", body, content_type="application/json"), 400)
    assert AlertRule.objects.count() == 0


def test_ten_thousand_matchers_on_a_silence_are_a_400_on_matchers(api):
    body = {
        "matchers": {f"m{index}": "v" for index in range(10_000)},
        "comment": "c",
        "ends_at": (timezone.now() + timedelta(hours=1)).isoformat(),
    }
    response = api.post("/api/v1/silences/", body, content_type="application/json")
    assert "matchers" in assert_contract_error(response, 400)
    assert Silence.objects.count() == 0


@pytest.mark.parametrize(
    "tags",
    [{f"t{index}": "v" for index in range(10_000)}, {"host": "x" * 1_000_000}],
    ids=["ten-thousand-tags", "one-megabyte-value"],
)
def test_a_huge_tag_set_on_a_point_is_a_400_on_its_tags(api, tags):
    body = {"points": [{"name": "ok", "value": 1}, {"name": "m", "value": 1, "tags": tags}]}
    errors = assert_contract_error(api.post(INGEST, body, content_type="application/json"), 400)["errors"]
    assert [(error["index"], error["field"].split(".")[0]) for error in errors] == [(1, "tags")]
    assert Sample.objects.count() == 0 and Series.objects.count() == 0


# -- Timestamps out of range, in bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize("timestamp", BAD_TIMES, ids=repr)
def test_an_ingest_timestamp_out_of_range_is_a_400_on_that_point(api, timestamp):
    body = {"points": [{"name": "m", "value": 1}, {"name": "m", "value": 2, "timestamp": timestamp}]}
    errors = assert_contract_error(api.post(INGEST, body, content_type="application/json"), 400)["errors"]
    assert [(error["index"], error["field"]) for error in errors] == [(1, "timestamp")]
    assert Sample.objects.count() == 0


@pytest.mark.parametrize("literal", NON_FINITE_LITERALS)
def test_an_ingest_timestamp_of_nan_or_infinity_is_a_400_on_that_point(api, literal):
    body = f'{{"points": [{{"name": "m", "value": 1, "timestamp": {literal}}}]}}'
    errors = assert_contract_error(api.post(INGEST, body, content_type="application/json"), 400)["errors"]
    assert [(error["index"], error["field"]) for error in errors] == [(0, "timestamp")]
    assert Sample.objects.count() == 0


@pytest.mark.parametrize("timestamp", BAD_TIMES, ids=repr)
def test_an_alert_starts_at_out_of_range_is_a_400_on_starts_at(api, timestamp):
    body = {"source": "s", "title": "t", "starts_at": timestamp}
    assert "starts_at" in assert_contract_error(api.post("/api/v1/alerts/", body, content_type="application/json"), 400)
    assert Alert.objects.count() == 0 and AlertEvent.objects.count() == 0


@pytest.mark.parametrize("field", ["starts_at", "ends_at"])
@pytest.mark.parametrize("timestamp", BAD_TIMES, ids=repr)
def test_a_silence_time_out_of_range_is_a_400_on_that_field(api, field, timestamp):
    body = {"matchers": {"host": "web-1"}, "comment": "c", "ends_at": (timezone.now() + timedelta(hours=1)).isoformat()}
    body[field] = timestamp
    assert field in assert_contract_error(api.post("/api/v1/silences/", body, content_type="application/json"), 400)
    assert Silence.objects.count() == 0


@pytest.mark.parametrize("literal", NON_FINITE_LITERALS)
@pytest.mark.parametrize("write", ["POST /api/v1/alerts/", "POST /api/v1/silences/"])
def test_a_time_of_nan_or_infinity_is_a_400(api, objects, write, literal):
    before = stored()
    body = (
        f'{{"source": "s", "title": "t", "matchers": {{"a": "b"}}, "comment": "c", '
        f'"starts_at": {literal}, "ends_at": {literal}}}'
    )
    assert_contract_error(send(api, write, objects, body), 400)
    assert stored() == before


def test_a_silence_ending_in_the_past_without_a_start_is_a_400_on_ends_at(api):
    # Without starts_at the silence starts now, so it would end before it starts.
    body = {"matchers": {"host": "web-1"}, "comment": "c", "ends_at": "2020-01-01T00:00:00Z"}
    assert "ends_at" in assert_contract_error(api.post("/api/v1/silences/", body, content_type="application/json"), 400)
    assert Silence.objects.count() == 0


# -- Query strings ------------------------------------------------------------------------------------------------


SINCE_OUT_OF_RANGE = [
    "0000-01-01T00:00:00Z",
    "10000-01-01T00:00:00Z",
    "2026-01-01T00:00:00%2B99:00",
    "0001-01-01T00:00:00%2B01:00",
    "9999-12-31T23:59:59-01:00",
    "1e20",
    "nan",
    "%00",
    "9" * 5000,
]


@pytest.mark.parametrize("since", SINCE_OUT_OF_RANGE, ids=lambda value: value[:30])
@pytest.mark.parametrize("path", ["/api/v1/alerts/", "/api/v1/incidents/"])
def test_since_out_of_range_is_a_400_on_since(api, path, since):
    assert "since" in assert_contract_error(api.get(f"{path}?since={since}"), 400)


QUERY_TIMES = [
    "0000-01-01",
    "10000-01-01",
    "2026-01-01T00:00:00%2B99:00",
    "0001-01-01T00:00:00%2B01:00",
    "9999-12-31T23:59:59-01:00",
    "1e20",
    "-1e20",
    "nan",
    "inf",
    "-inf",
    "%00",
    "9" * 5000,
]


@pytest.mark.parametrize("value", QUERY_TIMES, ids=lambda value: value[:30])
@pytest.mark.parametrize("field", ["start", "end"])
def test_a_metrics_query_time_out_of_range_is_a_400_on_that_field(api, field, value):
    assert field in assert_contract_error(api.get(f"/api/v1/metrics/query/?name=m&{field}={value}"), 400)


@pytest.mark.parametrize("step", ["-1", "1.5", "1e3", "nan", "%00", "99999999999999999999999", str(10**12)])
def test_a_metrics_query_step_that_is_not_a_sane_whole_number_is_a_400_on_step(api, step):
    assert "step" in assert_contract_error(api.get(f"/api/v1/metrics/query/?name=m&step={step}"), 400)


@pytest.mark.parametrize("query", ["name=%00", "name=m&tag=host:%00", "name=m&tag=%00:x"])
@pytest.mark.parametrize("path", ["/api/v1/metrics/query/", "/api/v1/metrics/latest/"])
def test_a_nul_in_a_metric_name_or_tag_is_a_400(api, path, query):
    assert_contract_error(api.get(f"{path}?{query}"), 400)


@pytest.mark.parametrize("page", ["0", "-1", "99999999999999999999999", "%00", "1e3"])
@pytest.mark.parametrize("path", LISTS)
def test_a_page_that_does_not_exist_is_a_404(api, path, page):
    assert_contract_error(api.get(f"{path}?page={page}"), 404)


@pytest.mark.parametrize("path", LISTS)
def test_an_absurd_page_size_is_capped_not_an_error(api, path):
    response = api.get(f"{path}?page_size=99999999999999999999")
    assert response.status_code == 200 and "results" in response.json()


def test_an_unknown_ordering_is_ignored_and_the_default_order_kept(api):
    # DRF's rule for lists: ordering names only what ordering_fields allow;
    # anything else (unknown, NUL, a private column) falls back to the default.
    first, second = make_alert(), make_alert()
    ids = [alert["id"] for alert in api.get("/api/v1/alerts/").json()["results"]]
    for ordering in ["nope", "-nope", "password", "%00", "x" * 5000, "id__gt", "incident__commander__password"]:
        response = api.get(f"/api/v1/alerts/?ordering={ordering}")
        assert response.status_code == 200
        assert [alert["id"] for alert in response.json()["results"]] == ids == [second.pk, first.pk]


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/api/v1/alerts/", "search=%00", "detail"),
        ("/api/v1/alerts/", "status=%00", "status"),
        ("/api/v1/alerts/", "status=firing&status=%ff", "status"),
        ("/api/v1/alerts/", "severity=nope", "severity"),
        ("/api/v1/alerts/", "incident=99999999999999999999", "incident"),
        ("/api/v1/alerts/", "incident=%00", "incident"),
        ("/api/v1/incidents/", "search=%00", "detail"),
        ("/api/v1/incidents/", "status=%00", "status"),
        ("/api/v1/incidents/", "severity=nope", "severity"),
    ],
    ids=lambda value: value[:24],
)
def test_a_filter_value_the_list_cannot_take_is_a_400_naming_the_filter(api, path, query, field):
    assert field in assert_contract_error(api.get(f"{path}?{query}"), 400)


@pytest.mark.parametrize("query", ["%ff%fe=%ff", "x" * 5000 + "=1", "incident=%00"], ids=lambda query: query[:24])
def test_a_parameter_the_list_does_not_know_is_ignored(api, query):
    make_incident()
    response = api.get(f"/api/v1/incidents/?{query}")  # incidents have no `incident` filter
    assert response.status_code == 200 and response.json()["count"] == 1


@pytest.mark.parametrize("search", ["x" * 100_000, "%ff%fe", "%F0%9F%92%A9" * 1000])
@pytest.mark.parametrize("path", ["/api/v1/alerts/", "/api/v1/incidents/"])
def test_an_overlong_or_undecodable_search_matches_nothing(api, path, search):
    make_alert(), make_incident()
    response = api.get(f"{path}?search={search}")
    assert response.status_code == 200 and response.json()["results"] == []


@pytest.mark.parametrize("path", [*LISTS, "/api/v1/metrics/query/", "/api/v1/metrics/latest/", "/api/v1/stats/"])
def test_more_query_parameters_than_django_allows_is_a_400(api, path):
    query = "&".join(f"tag=k{index}:v" for index in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    detail = assert_contract_error(api.get(f"{path}?name=m&{query}"), 400)["detail"]
    assert str(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS) in detail
