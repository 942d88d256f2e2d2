"""Pages are for staff: anonymous visitors log in first, other accounts get 403."""

import pytest

from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_a_non_staff_account_gets_403(client):
    client.force_login(make_user(staff=False))
    assert client.get("/").status_code == 403


def test_staff_see_the_dashboard_with_a_first_snapshot(staff_client):
    response = staff_client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="chart-cpu"' in body and 'id="chart-memory"' in body
    assert 'id="dashboard-state"' in body  # the first paint's data


def test_logging_in_with_the_password_leads_to_the_dashboard(client):
    make_user(username="oncall", staff=True)
    response = client.post("/login/", {"username": "oncall", "password": PASSWORD, "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_the_dashboard_loads_echarts_from_our_own_static_files(staff_client):
    body = staff_client.get("/").content.decode()
    assert "/static/vendor/echarts/echarts.min" in body
    assert "cdn" not in body.lower()


def test_unknown_api_paths_answer_json_404(staff_client):
    response = staff_client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_pages_speak_simplified_chinese_when_asked(staff_client):
    body = staff_client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert "仪表盘" in body and "实时事件" in body
    assert '<html lang="zh-hans"' in body


def test_the_language_switcher_remembers_the_choice(staff_client):
    staff_client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/alerts/"})
    assert "告警中心" in staff_client.get("/alerts/").content.decode()


def test_a_list_error_is_still_one_detail_string(staff_client):
    response = staff_client.get("/api/v1/rules/", {"search": "\x00"})
    assert response.status_code == 400
    assert response.json() == {"detail": "Null characters are not allowed."}
