"""POST /api/v1/metrics/ingest/: validated, all or nothing, committed before 202."""

import gzip
import json
import time

import pytest

from metrics.models import Sample, Series

pytestmark = pytest.mark.django_db

URL = "/api/v1/metrics/ingest/"


def ingest(client, body, **extra):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(URL, data, content_type="application/json", **extra)


def test_points_are_stored_and_counted_with_202(staff_client):
    now = time.time()
    response = ingest(staff_client, {"points": [
        {"name": "cpu_percent", "value": 45.2, "timestamp": "2026-01-01T12:00:00Z", "tags": {"host": "web-1"}},
        {"name": "cpu_percent", "value": 50, "timestamp": now - 5, "tags": {"host": "web-1"}},
        {"name": "queue_depth", "value": 3},
    ]})
    assert response.status_code == 202
    assert response.json() == {"accepted": 3}
    assert Sample.objects.count() == 3
    series = Series.objects.get(name="cpu_percent")
    assert series.tags == {"host": "web-1"} and series.last_value == 50
    assert staff_client.get("/api/v1/stats/").json()["points_ingested"] == 3


def test_a_late_point_does_not_replace_the_latest_value(staff_client):
    ingest(staff_client, {"points": [{"name": "m", "value": 2, "timestamp": time.time()}]})
    ingest(staff_client, {"points": [{"name": "m", "value": 1, "timestamp": time.time() - 600}]})
    assert Series.objects.get(name="m").last_value == 2


@pytest.mark.parametrize(
    "point, field",
    [
        ({"value": 1}, "name"),
        ({"name": "9lives", "value": 1}, "name"),
        ({"name": "a b", "value": 1}, "name"),
        ({"name": "m"}, "value"),
        ({"name": "m", "value": "1"}, "value"),
        ({"name": "m", "value": True}, "value"),
        ({"name": "m", "value": 1, "timestamp": "yesterday"}, "timestamp"),
        ({"name": "m", "value": 1, "timestamp": 4102444800}, "timestamp"),
        ({"name": "m", "value": 1, "timestamp": -5}, "timestamp"),
        ({"name": "m", "value": 1, "timestamp": [1]}, "timestamp"),
        ({"name": "m", "value": 1, "tags": ["host"]}, "tags"),
        ({"name": "m", "value": 1, "tags": {"host": 1}}, "tags.host"),
        ({"name": "m", "value": 1, "tags": {"host": ""}}, "tags.host"),
        ({"name": "m", "value": 1, "tags": {"host": "x" * 201}}, "tags.host"),
        ({"name": "m", "value": 1, "tags": {f"k{n}": "v" for n in range(33)}}, "tags"),
        ({"name": "m", "value": 1, "timestmap": 5}, "timestmap"),
    ],
)
def test_each_kind_of_bad_point_is_named_by_index_and_field(staff_client, point, field):
    response = ingest(staff_client, {"points": [{"name": "ok", "value": 1}, point]})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(error["index"], error["field"]) for error in errors] == [(1, field)]
    assert errors[0]["message"]


def test_non_finite_values_are_refused(staff_client):
    response = ingest(staff_client, '{"points": [{"name": "m", "value": NaN}, {"name": "m", "value": Infinity}]}')
    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(0, "value"), (1, "value")]


def test_one_bad_point_stores_nothing(staff_client):
    good = [{"name": "m", "value": n} for n in range(50)]
    response = ingest(staff_client, {"points": good + [{"name": "m", "value": "bad"}]})
    assert response.status_code == 400
    assert Sample.objects.count() == 0 and Series.objects.count() == 0


def test_every_bad_point_is_listed(staff_client):
    response = ingest(staff_client, {"points": [{"name": "m"}, {"name": "ok", "value": 1}, {"value": 2}]})
    assert [error["index"] for error in response.json()["errors"]] == [0, 2]


@pytest.mark.parametrize("body", [{}, {"points": []}, {"points": {}}, {"points": [], "extra": 1}, [], 5])
def test_a_body_of_the_wrong_shape_is_a_clear_400(staff_client, body):
    response = ingest(staff_client, body)
    assert response.status_code == 400
    assert "points" in response.json()["detail"]


def test_more_than_ten_thousand_points_are_refused(staff_client):
    response = ingest(staff_client, {"points": [{"name": "m", "value": 1}] * 10_001})
    assert response.status_code == 400 and "10000" in response.json()["detail"]


def test_gzip_bodies_are_accepted(staff_client):
    body = gzip.compress(json.dumps({"points": [{"name": "m", "value": 1}, {"name": "m", "value": 2}]}).encode())
    response = staff_client.post(URL, body, content_type="application/json", HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 202 and response.json() == {"accepted": 2}


def test_a_broken_gzip_body_is_a_400(staff_client):
    response = staff_client.post(URL, b"not gzip at all", content_type="application/json", HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 400 and "gzip" in response.json()["detail"]


def test_a_token_client_can_push(client, staff_token):
    response = ingest(client, {"points": [{"name": "m", "value": 1}]}, HTTP_AUTHORIZATION=f"Bearer {staff_token}")
    assert response.status_code == 202


def test_anonymous_pushes_are_refused(client):
    assert ingest(client, {"points": [{"name": "m", "value": 1}]}).status_code == 401
