"""Every API operation answers as the README's "Who may do what" table says.

The walk is over the OpenAPI schema, so an endpoint added without a row in
the table fails here, and so does a row whose endpoint has gone.
"""

import itertools
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from alerts.models import Alert, AlertRule, Incident, Silence
from metrics.models import Series
from metrics.points import tags_key
from runbooks.checklists import run_runbook
from runbooks.models import Runbook
from tests.factories import make_token

README = Path(__file__).resolve().parent.parent / "README.md"
STAFF = "staff"  # the table's word for an operation no permission grants
METHODS = ("get", "post", "put", "patch", "delete")
_numbers = itertools.count(1)


def readme_table():
    """``{(METHOD, path): permission or STAFF}`` from the README's table."""
    section = README.read_text().split("### Who may do what", 1)[1].split("\n### ", 1)[0]
    table = {}
    for row in re.findall(r"^\| (.+) \| (`[a-z_]+\.[a-z_]+`|staff) \|$", section, re.MULTILINE):
        for method, path in re.findall(r"`([A-Z]+) (/[^`]+)`", row[0]):
            table[(method, path)] = row[1].strip("`")
    return table


def schema_operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {(method.upper(), path) for path, item in schema["paths"].items() for method in item if method in METHODS}


def test_the_table_and_the_schema_name_the_same_operations():
    table, operations = readme_table(), schema_operations()
    assert len(table) > 20
    assert operations - table.keys() == set(), "operations without a row in the README"
    assert table.keys() - operations == set(), "rows for operations the API no longer has"


def permission_token(*codenames):
    # No password: hashing one per user would be most of this test's time.
    user = get_user_model().objects.create_user(username=f"perm{next(_numbers)}", password=None)
    for codename in codenames:
        app_label, name = codename.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=name))
    return make_token(user)[1]


@pytest.fixture
def objects(db):
    now = timezone.now()
    alert = Alert.objects.create(title="disk full", fingerprint="disk-full", source="test")
    incident = Incident.objects.create(title="storage outage")
    # Its evidence is of db-1's disk.
    Series.objects.create(name="disk_used_percent", tags={"host": "db-1"}, tags_key=tags_key({"host": "db-1"}))
    Alert.objects.create(
        title="db-1 disk", fingerprint="db-1-disk", source="test", labels={"host": "db-1"}, incident=incident
    )
    rule = AlertRule.objects.create(name="cpu", metric="cpu_percent", threshold=90, title="cpu high")
    silence = Silence.objects.create(
        matchers={"host": "db-1"}, ends_at=now + timedelta(hours=1), comment="maintenance", created_by="test"
    )
    runbook = Runbook.objects.create(title="disk full", body="1. Free space\n2. Check again", matchers={"x": "y"})
    checklist, _ = run_runbook(incident.pk, runbook.pk, "test")
    return {
        "alerts": alert.pk,
        "incidents": incident.pk,
        "rules": rule.pk,
        "silences": silence.pk,
        "runbooks": runbook.pk,
        "checklist": checklist.pk,
    }


def call(key, method, path, objects):
    resource = path.split("/")[3]
    url = path.replace("{id}", str(objects.get(resource, 1)))
    url = url.replace("{checklist}", str(objects["checklist"])).replace("{number}", "1")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return getattr(client, method.lower())(url, {}, format="json")


def test_each_operation_needs_exactly_its_permission(objects):
    table = {operation: needed for operation, needed in readme_table().items() if needed != STAFF}
    every = set(table.values())
    nothing = permission_token()
    # For each permission: a token holding only it, and one holding every other.
    only = {codename: permission_token(codename) for codename in every}
    all_but = {codename: permission_token(*(every - {codename})) for codename in every}
    for (method, path), needed in sorted(table.items(), key=lambda item: item[0][0] == "DELETE"):
        for key in (nothing, all_but[needed]):
            answer = call(key, method, path, objects)
            assert answer.status_code == 403, (method, path, needed, answer.status_code)
        answer = call(only[needed], method, path, objects)
        assert answer.status_code not in (401, 403), (method, path, needed, answer.status_code, answer.content)
        assert answer.status_code < 500, (method, path, answer.status_code)


def test_staff_only_operations_refuse_every_permission_and_admit_staff(objects):
    staff_only = [operation for operation, needed in readme_table().items() if needed == STAFF]
    assert staff_only
    everything = permission_token(*(f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.all()))
    staff = get_user_model().objects.create_user(username="staff-member", password=None, is_staff=True)
    staff_key = make_token(staff)[1]
    for method, path in sorted(staff_only, key=lambda operation: operation[0] == "DELETE"):
        assert call(everything, method, path, objects).status_code == 403, (method, path)
        answer = call(staff_key, method, path, objects)
        assert answer.status_code not in (401, 403) and answer.status_code < 500, (method, path, answer.status_code)


def test_add_alert_alone_cannot_acknowledge_but_change_alert_can(objects):
    path = f"/api/v1/alerts/{objects['alerts']}/acknowledge/"
    for codename, expected in (("alerts.add_alert", 403), ("alerts.change_alert", 200)):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {permission_token(codename)}")
        assert client.post(path).status_code == expected, codename
    assert Alert.objects.get(pk=objects["alerts"]).status == "acknowledged"
