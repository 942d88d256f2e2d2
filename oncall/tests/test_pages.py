"""The on-call pages: who is on call, a rotation and a policy made through forms alone."""

from datetime import date

import pytest

from oncall.models import EscalationPolicy, Schedule
from oncall.tests.factories import make_schedule
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(make_user(username="lead"))
    return client


def test_the_page_shows_who_is_on_call_now_and_a_calendar(staff_client):
    ana = make_user(username="ana")
    make_schedule([ana], starts_on=date(2026, 1, 5))
    page = staff_client.get("/oncall/").content.decode()
    assert 'class="now-user">ana<' in page
    assert page.count("<tr") >= 28  # four weeks of days


def test_a_rotation_is_made_through_the_form(staff_client):
    ana, bo = make_user(username="ana"), make_user(username="bo")
    form = {
        "name": "primary",
        "time_zone": "Europe/Berlin",
        "rotation": "weekly",
        "shift_days": "7",
        "starts_on": "2026-03-02",
        "handoff_time": "09:00",
        "member-0": str(bo.pk),
        "member-1": str(ana.pk),
    }
    assert staff_client.post("/oncall/schedules/new/", form).status_code == 302
    layer = Schedule.objects.get(name="primary").layers.get()
    assert [m.user.username for m in layer.members.order_by("position")] == ["bo", "ana"]


def test_a_two_step_policy_is_made_through_the_editor(staff_client):
    ana, bo = make_user(username="ana"), make_user(username="bo")
    schedule = make_schedule([ana])
    form = {
        "name": "db pages",
        "matchers": "team=db",
        "severities": ["critical"],
        "position": "1",
        "enabled": "on",
        "repeat": "2",
        "step_rows": "3",
        "step-0-target": "schedule",
        "step-0-schedule": str(schedule.pk),
        "step-0-wait": "5",
        "step-1-target": "users",
        "step-1-users": [str(bo.pk)],
        "step-1-wait": "10",
        "step-2-target": "",
    }
    assert staff_client.post("/oncall/policies/new/", form).status_code == 302
    policy = EscalationPolicy.objects.get(name="db pages")
    steps = list(policy.steps.order_by("position"))
    assert (policy.matchers, policy.severities, policy.repeat) == ({"team": "db"}, ["critical"], 2)
    assert [(s.target, s.schedule_id, s.wait_minutes) for s in steps] == [
        ("schedule", schedule.pk, 5),
        ("users", None, 10),
    ]
    assert list(steps[1].users.values_list("username", flat=True)) == ["bo"]
    edit = staff_client.get(f"/oncall/policies/{policy.pk}/").content.decode()
    assert 'value="team=db"' in edit and f'<option value="{bo.pk}" selected>bo</option>' in edit


def test_the_editor_sets_when_an_acknowledgement_expires_and_refuses_zero(staff_client):
    ana = make_user(username="ana")
    form = {
        "name": "expiring",
        "enabled": "on",
        "step_rows": "1",
        "step-0-target": "users",
        "step-0-users": [str(ana.pk)],
        "step-0-wait": "5",
        "unacknowledge_after": "0",
    }
    refused = staff_client.post("/oncall/policies/new/", form)
    assert refused.status_code == 400 and "unacknowledge_after" in refused.content.decode()

    assert staff_client.post("/oncall/policies/new/", {**form, "unacknowledge_after": "30"}).status_code == 302
    policy = EscalationPolicy.objects.get(name="expiring")
    assert policy.unacknowledge_after == 30
    assert (
        'name="unacknowledge_after" type="number" min="1" max="1440" value="30"'
        in staff_client.get(f"/oncall/policies/{policy.pk}/").content.decode()
    )


def test_a_step_without_its_target_is_refused_and_the_form_keeps_what_was_typed(staff_client):
    form = {"name": "half", "enabled": "on", "step_rows": "1", "step-0-target": "users", "step-0-wait": "5"}
    answer = staff_client.post("/oncall/policies/new/", form)
    assert answer.status_code == 400
    page = answer.content.decode()
    assert "steps.0.users" in page and 'value="half"' in page
    assert not EscalationPolicy.objects.exists()


def test_the_pages_are_for_staff(client):
    client.force_login(make_user(staff=False))
    assert client.get("/oncall/").status_code == 403
    assert client.get("/oncall/policies/new/").status_code == 403


def test_the_page_speaks_chinese_when_asked(staff_client):
    page = staff_client.get("/oncall/policies/new/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "新建升级策略" in page and "然后等待（分钟）" in page
