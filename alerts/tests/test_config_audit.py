"""Rule, silence and channel changes leave an audit line: who, when, old and new values."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.config_audit import REDACTED, config_snapshot, record_config_change
from alerts.models import AlertRule, ConfigChange, NotificationChannel, Silence
from tests.factories import make_user

pytestmark = pytest.mark.django_db
RULE = {"name": "cpu", "metric": "cpu_percent", "threshold": 90, "title": "cpu high"}


def post(client, path, body):
    return client.post(path, body, content_type="application/json")


def values(change):
    """``(before, after)``, an absent side as an empty dict."""
    return change.before or {}, change.after or {}


def make_silence():
    return Silence.objects.create(
        matchers={"host": "db-1"}, ends_at=timezone.now() + timedelta(hours=1), comment="maintenance", created_by="t"
    )


@pytest.fixture
def admin_client(client):
    client.force_login(make_user(superuser=True, username="root"))
    return client


def test_creating_a_rule_over_rest_records_who_and_the_new_values(staff_client, staff_user):
    rule_id = post(staff_client, "/api/v1/rules/", RULE).json()["id"]
    change = ConfigChange.objects.get()
    assert (change.action, change.actor, change.object_type, change.object_id) == (
        "created",
        staff_user.username,
        "alerts.alertrule",
        str(rule_id),
    )
    assert change.before is None
    assert values(change)[1]["threshold"] == 90 and values(change)[1]["name"] == "cpu"


def test_changing_a_rule_over_rest_records_the_old_and_new_values(staff_client):
    rule_id = post(staff_client, "/api/v1/rules/", RULE).json()["id"]
    staff_client.patch(f"/api/v1/rules/{rule_id}/", {"threshold": 95}, content_type="application/json")
    change = ConfigChange.objects.latest("id")
    assert change.action == "changed"
    assert (values(change)[0]["threshold"], values(change)[1]["threshold"]) == (90, 95)


def test_a_change_that_changes_nothing_is_not_recorded(staff_client):
    rule_id = post(staff_client, "/api/v1/rules/", RULE).json()["id"]
    staff_client.patch(f"/api/v1/rules/{rule_id}/", {"threshold": 90}, content_type="application/json")
    assert ConfigChange.objects.count() == 1


def test_deleting_a_rule_over_rest_records_its_last_values(staff_client):
    rule_id = post(staff_client, "/api/v1/rules/", RULE).json()["id"]
    assert staff_client.delete(f"/api/v1/rules/{rule_id}/").status_code == 204
    change = ConfigChange.objects.latest("id")
    assert (change.action, change.object_id, change.object_repr) == ("deleted", str(rule_id), "cpu")
    assert values(change)[0]["metric"] == "cpu_percent" and change.after is None


def test_creating_and_deleting_a_silence_over_rest_are_recorded(staff_client):
    body = {"matchers": {"host": "db-1"}, "ends_at": "2099-01-01T00:00:00Z", "comment": "maintenance"}
    silence_id = post(staff_client, "/api/v1/silences/", body).json()["id"]
    staff_client.delete(f"/api/v1/silences/{silence_id}/")
    changes = list(ConfigChange.objects.values_list("action", "object_type", "object_id"))
    assert changes == [
        ("created", "alerts.silence", str(silence_id)),
        ("deleted", "alerts.silence", str(silence_id)),
    ]


def test_changing_a_rule_in_the_admin_records_the_old_and_new_values(admin_client):
    rule = AlertRule.objects.create(**RULE)
    form = {**RULE, "threshold": 80, "tags": "{}", "operator": ">", "for_seconds": 0, "severity": "warning"}
    answer = admin_client.post(
        f"/admin/alerts/alertrule/{rule.pk}/change/", {**form, "category": "cpu", "enabled": "on"}
    )
    assert answer.status_code == 302
    change = ConfigChange.objects.get()
    assert (change.action, change.actor) == ("changed", "root")
    assert (values(change)[0]["threshold"], values(change)[1]["threshold"]) == (90, 80)


def test_deleting_silences_with_the_admin_action_records_each(admin_client):
    silences = [make_silence(), make_silence()]
    admin_client.post(
        "/admin/alerts/silence/",
        {"action": "delete_selected", "_selected_action": [s.pk for s in silences], "post": "yes"},
    )
    assert not Silence.objects.exists()
    deleted = ConfigChange.objects.filter(action="deleted", object_type="alerts.silence")
    assert sorted(deleted.values_list("object_id", flat=True)) == sorted(str(s.pk) for s in silences)


def test_the_audit_is_read_only_in_the_admin(admin_client):
    record_config_change("root", AlertRule.objects.create(**RULE), None, {"name": "cpu"})
    change = ConfigChange.objects.get()
    assert "cpu" in admin_client.get("/admin/alerts/configchange/").content.decode()
    assert admin_client.get("/admin/alerts/configchange/add/").status_code == 403
    assert admin_client.post(f"/admin/alerts/configchange/{change.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ConfigChange.objects.filter(pk=change.pk).exists()


def test_the_audit_cannot_be_edited_or_deleted():
    record_config_change("root", AlertRule.objects.create(**RULE), None, {"name": "cpu"})
    change = ConfigChange.objects.get()
    with pytest.raises(TypeError):
        change.save()
    with pytest.raises(TypeError):
        ConfigChange.objects.all().delete()


def test_a_snapshot_never_holds_a_channel_secret():
    channel = NotificationChannel.objects.create(name="pager", kind="webhook", url="https://x.test/", secret="s3cret")
    snapshot = config_snapshot(channel)
    assert snapshot["secret"] == REDACTED
    assert snapshot["url"] == "https://x.test/"
