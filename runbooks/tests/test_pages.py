"""/runbooks/ and /runbooks/<id>/: staff only, searchable, rendered safely, edited with an audit line."""

import pytest

from alerts.models import ConfigChange
from runbooks.models import Runbook
from runbooks.tests.factories import make_runbook

pytestmark = pytest.mark.django_db


def test_the_pages_are_for_staff(client, plain_user):
    runbook = make_runbook()
    for path in ("/runbooks/", f"/runbooks/{runbook.pk}/", "/runbooks/new/", f"/runbooks/{runbook.pk}/edit/"):
        assert client.get(path).status_code == 302  # to the login page
    client.force_login(plain_user)
    for path in ("/runbooks/", f"/runbooks/{runbook.pk}/", "/runbooks/new/", f"/runbooks/{runbook.pk}/edit/"):
        assert client.get(path).status_code == 403


def test_the_list_searches_titles_and_bodies_and_filters_by_category(staff_client):
    make_runbook(title="Disk full", category="storage", body="1. df -h")
    make_runbook(title="Packet loss", category="network", body="1. mtr to the gateway")
    page = staff_client.get("/runbooks/").content.decode()
    assert "Disk full" in page and "Packet loss" in page
    assert '<option value="network"' in page and '<option value="storage"' in page
    found = staff_client.get("/runbooks/?q=gateway").content.decode()
    assert "Packet loss" in found and "Disk full" not in found
    filtered = staff_client.get("/runbooks/?category=storage").content.decode()
    assert "Disk full" in filtered and "Packet loss" not in filtered
    assert "No runbook matches." in staff_client.get("/runbooks/?q=nothing-like-it").content.decode()


def test_the_view_renders_the_markdown_sanitized(staff_client):
    runbook = make_runbook(title="<b>Disk</b>", body="## Steps\n\n1. `df`\n\n<script>x()</script> [a](javascript:x())")
    page = staff_client.get(f"/runbooks/{runbook.pk}/").content.decode()
    assert "<h2>Steps</h2>" in page
    assert "&lt;b&gt;Disk&lt;/b&gt;" in page  # the title is escaped, too
    body = page.split('id="runbook-body">', 1)[1].split("</article>", 1)[0]
    assert "<script" not in body and 'href="javascript' not in body
    assert "1 numbered step" in page


def test_creating_from_the_page_stores_matchers_and_is_audited(staff_client, staff_user):
    form = {
        "title": "Disk full",
        "category": "storage",
        "body": "1. df -h",
        "matchers_text": "host=db-1\n\nrole = db\n",
    }
    answer = staff_client.post("/runbooks/new/", form)
    runbook = Runbook.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/runbooks/{runbook.pk}/"
    assert runbook.matchers == {"host": "db-1", "role": "db"}
    assert runbook.updated_by == staff_user.username
    change = ConfigChange.objects.get()
    assert (change.action, change.actor, change.object_type) == ("created", staff_user.username, "runbooks.runbook")


def test_editing_from_the_page_shows_the_matchers_and_records_old_and_new(staff_client):
    runbook = make_runbook(title="Disk", matchers={"host": "db-1"})
    form_page = staff_client.get(f"/runbooks/{runbook.pk}/edit/").content.decode()
    assert "host=db-1</textarea>" in form_page
    form = {"title": "Disk full", "category": "", "body": runbook.body, "matchers_text": "host=db-2"}
    assert staff_client.post(f"/runbooks/{runbook.pk}/edit/", form).status_code == 302
    change = ConfigChange.objects.latest("id")
    assert change.action == "changed"
    assert ((change.before or {}).get("matchers"), (change.after or {}).get("matchers")) == (
        {"host": "db-1"},
        {"host": "db-2"},
    )


@pytest.mark.parametrize(
    ("matchers", "message"),
    [
        ("host", "Line 1: write name=value."),
        ("a=1\n=2", "Line 2: write name=value."),
        ("a=1\na=2", "Line 2: a is given twice."),
    ],
)
def test_bad_matcher_lines_are_named_and_nothing_is_stored(staff_client, matchers, message):
    answer = staff_client.post("/runbooks/new/", {"title": "x", "category": "", "body": "", "matchers_text": matchers})
    assert answer.status_code == 200
    assert message in answer.content.decode()
    assert not Runbook.objects.exists()


def test_deleting_from_the_page_is_a_post_and_audited(staff_client):
    runbook = make_runbook()
    assert staff_client.get(f"/runbooks/{runbook.pk}/delete/").status_code == 405
    assert staff_client.post(f"/runbooks/{runbook.pk}/delete/").status_code == 302
    assert not Runbook.objects.exists()
    assert ConfigChange.objects.order_by("-id").first().action == "deleted"


def test_the_incident_page_offers_the_runbooks_of_its_alerts_first(staff_client):
    from alerts.tests.factories import make_alert, make_incident

    make_runbook(title="A general one", matchers={})
    disk = make_runbook(title="Disk full", matchers={"role": "db"})
    alert = make_alert(labels={"role": "db"})
    incident = make_incident(alert_ids=[alert.pk])
    state = staff_client.get(f"/incidents/{incident.pk}/").context["state"]
    assert [(r["title"], r["suggested"]) for r in state["runbooks"]] == [("Disk full", True), ("A general one", False)]
    assert state["alerts"][0]["runbooks"][0]["id"] == disk.pk
    assert state["checklists"] == []
