"""/api/v1/runbooks/: the fields, strict bodies, filters, and an audit line for every change."""

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from alerts.models import ConfigChange
from opsconsole.strict import READ_ONLY_FIELD, UNKNOWN_FIELD
from runbooks.models import Runbook
from runbooks.tests.factories import make_runbook
from tests.factories import make_token, make_user

pytestmark = pytest.mark.django_db
FIELDS = ["id", "title", "body", "matchers", "category", "updated_at", "updated_by", "body_html", "url"]
BODY = {"title": "Disk full", "body": "# Disk\n\n1. Free space", "matchers": {"host": "db-1"}, "category": "storage"}


def post(client, path, body):
    return client.post(path, body, content_type="application/json")


def patch(client, path, body):
    return client.patch(path, body, content_type="application/json")


def test_a_new_runbook_answers_201_with_its_fields_and_rendered_body(staff_client, staff_user):
    answer = post(staff_client, "/api/v1/runbooks/", BODY)
    assert answer.status_code == 201
    data = answer.json()
    assert list(data) == FIELDS
    assert {key: data[key] for key in BODY} == BODY
    assert data["updated_by"] == staff_user.username
    assert data["body_html"] == "<h1>Disk</h1>\n<ol>\n<li>Free space</li>\n</ol>\n"
    assert data["url"] == f"/runbooks/{data['id']}/"


def test_unknown_and_read_only_fields_are_refused_and_nothing_is_stored(staff_client):
    answer = post(staff_client, "/api/v1/runbooks/", {**BODY, "labels": {"x": "y"}, "updated_by": "mallory"})
    assert answer.status_code == 400
    assert answer.json() == {"labels": [UNKNOWN_FIELD], "updated_by": [READ_ONLY_FIELD]}
    assert not Runbook.objects.exists()
    assert not ConfigChange.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x", "matchers": {"host": 5}}, "matchers"),
        ({"title": "x", "matchers": ["host"]}, "matchers"),
        ({"title": "x", "body": "y" * 100_001}, "body"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field(staff_client, body, field):
    answer = post(staff_client, "/api/v1/runbooks/", body)
    assert answer.status_code == 400
    assert field in answer.json()


def test_search_looks_in_titles_and_bodies_and_category_filters(staff_client):
    disk = make_runbook(title="Disk full", category="storage", body="1. df -h")
    inode = make_runbook(title="Inodes", category="storage", body="1. find the small files")
    make_runbook(title="Packet loss", category="network", body="1. mtr to the gateway")

    def names(query):
        return [row["title"] for row in staff_client.get(f"/api/v1/runbooks/?{query}").json()["results"]]

    assert names("search=small") == [inode.title]
    assert names("search=disk") == [disk.title]
    assert names("category=storage") == ["Disk full", "Inodes"]
    assert names("category=storage&search=df") == ["Disk full"]
    assert names("category=nothing") == []


def test_create_change_and_delete_over_rest_are_each_audited(staff_client, staff_user):
    runbook_id = post(staff_client, "/api/v1/runbooks/", BODY).json()["id"]
    assert patch(staff_client, f"/api/v1/runbooks/{runbook_id}/", {"matchers": {"host": "db-2"}}).status_code == 200
    assert staff_client.delete(f"/api/v1/runbooks/{runbook_id}/").status_code == 204
    changes = list(ConfigChange.objects.order_by("id"))
    assert [(c.action, c.actor, c.object_type, c.object_id) for c in changes] == [
        (action, staff_user.username, "runbooks.runbook", str(runbook_id))
        for action in ("created", "changed", "deleted")
    ]
    created, changed, deleted = ((change.before or {}, change.after or {}) for change in changes)
    assert changes[0].before is None and created[1]["matchers"] == {"host": "db-1"}
    assert (changed[0]["matchers"], changed[1]["matchers"]) == ({"host": "db-1"}, {"host": "db-2"})
    assert deleted[0]["title"] == "Disk full" and changes[2].after is None


def test_a_runbook_changed_in_the_admin_is_audited_with_who(client):
    root = make_user(superuser=True, username="root")
    client.force_login(root)
    runbook = make_runbook(title="Disk", matchers={"host": "db-1"})
    before = ConfigChange.objects.count()
    form = {"title": "Disk full", "body": runbook.body, "matchers": '{"host": "db-1"}', "category": ""}
    assert client.post(f"/admin/runbooks/runbook/{runbook.pk}/change/", form).status_code == 302
    change = ConfigChange.objects.latest("id")
    assert ConfigChange.objects.count() == before + 1
    assert (change.action, change.actor) == ("changed", "root")
    assert (change.before or {}).get("title") == "Disk" and (change.after or {}).get("title") == "Disk full"
    assert Runbook.objects.get().updated_by == "root"


def test_a_token_needs_the_runbook_permissions_as_a_rule_does():
    user = make_user(staff=False)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token(user)[1]}")
    assert client.get("/api/v1/runbooks/").status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_runbook"))
    assert client.get("/api/v1/runbooks/").status_code == 200
    assert client.post("/api/v1/runbooks/", BODY, format="json").status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="add_runbook"))
    assert client.post("/api/v1/runbooks/", BODY, format="json").status_code == 201
