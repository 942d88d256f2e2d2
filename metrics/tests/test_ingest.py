"""POST /api/v1/metrics/ingest/: validated, all or nothing, committed before 202."""

import gzip
import json
import time

import pytest

from metrics.models import Sample, Series
from tests.factories import make_points

pytestmark = pytest.mark.django_db

URL = "/api/v1/metrics/ingest/"


def ingest(client, body, **extra):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(URL, data, content_type="application/json", **extra)


def test_points_are_stored_and_counted_with_202(staff_client):
    now = time.time()
    response = ingest(
        staff_client,
        {
            "points": [
                {"name": "cpu_percent", "value": 45.2, "timestamp": "2026-01-01T12:00:00Z", "tags": {"host": "web-1"}},
                {"name": "cpu_percent", "value": 50, "timestamp": now - 5, "tags": {"host": "web-1"}},
                {"name": "queue_depth", "value": 3},
            ]
        },
    )
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


def test_a_tag_name_that_only_looks_like_a_valid_tag_set_is_refused(staff_client):
    # {"x=1,y": "2"} spells the same "x=1,y=2" as the valid {"x": "1", "y": "2"} before it.
    response = ingest(
        staff_client,
        {
            "points": [
                {"name": "m", "value": 1, "tags": {"x": "1", "y": "2"}},
                {"name": "m", "value": 2, "tags": {"x=1,y": "2"}},
            ]
        },
    )
    assert response.status_code == 400
    assert [(error["index"], error["field"]) for error in response.json()["errors"]] == [(1, "tags.x=1,y")]


def test_an_integer_too_large_for_a_double_is_a_bad_value(staff_client):
    response = ingest(staff_client, '{"points": [{"name": "m", "value": 1' + "0" * 400 + "}]}")
    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(0, "value")]


def test_a_nul_character_in_a_tag_is_refused_before_anything_is_stored(staff_client):
    response = ingest(staff_client, '{"points": [{"name": "m", "value": 1, "tags": {"host": "a\\u0000b"}}]}')
    assert response.status_code == 400 and "NUL" in response.json()["detail"]
    assert Series.objects.count() == 0


def test_ingest_points_stores_parsed_points_and_bad_ones_never_reach_it():
    from metrics.points import InvalidPoints
    from metrics.services import ingest_points

    assert (
        ingest_points(make_points({"name": "m", "value": 1, "tags": {"host": "a"}}, {"name": "m", "value": 2.5})) == 2
    )
    with pytest.raises(InvalidPoints) as raised:
        ingest_points(make_points({"name": "m", "value": 1}, {"name": "m", "value": float("nan")}))
    assert [(e["index"], e["field"]) for e in raised.value.errors] == [(1, "value")]
    assert Sample.objects.count() == 2


def test_deleting_a_series_deletes_its_samples():
    from metrics.services import ingest_points

    ingest_points(
        make_points({"name": "m", "value": 1, "tags": {"host": "a"}}, {"name": "m", "value": 2, "tags": {"host": "b"}})
    )
    Series.objects.get(tags__host="a").delete()
    assert Sample.objects.count() == 1


def test_the_admin_lists_series_and_offers_no_editing(client, django_user_model):
    from metrics.services import ingest_points

    ingest_points(make_points({"name": "queue_depth", "value": 3, "tags": {"host": "w-1"}}))
    client.force_login(django_user_model.objects.create_superuser("root", password="x-very-long-password-1"))
    listing = client.get("/admin/metrics/series/")
    assert listing.status_code == 200 and b"host=w-1" in listing.content
    assert client.get("/admin/metrics/series/add/").status_code == 403
