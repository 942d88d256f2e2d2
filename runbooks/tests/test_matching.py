"""An alert lists exactly the runbooks whose matchers its labels contain, cheaply."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from alerts.payloads import alert_data
from alerts.tests.factories import make_alert
from runbooks.matching import forget_runbooks, runbook_links
from runbooks.models import Runbook
from runbooks.tests.factories import make_runbook
from tests.factories import make_token

pytestmark = pytest.mark.django_db

# Few names and values, so that matches and near-misses are both common.
names = st.sampled_from(["host", "service", "env", "zone"])
values = st.sampled_from(["a", "b", ""])
label_sets = st.dictionaries(names, values, max_size=4)


def reference(runbooks, labels):
    """The rule written out plainly: non-empty matchers, each one a label with that value; by title then id."""
    ordered = sorted(runbooks, key=lambda runbook: (runbook.title, runbook.pk))
    return [
        runbook.pk
        for runbook in ordered
        if runbook.matchers and all(key in labels and labels[key] == value for key, value in runbook.matchers.items())
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(matcher_sets=st.lists(label_sets, max_size=6), labels=label_sets, titles=st.lists(st.sampled_from("xyz")))
def test_an_alert_lists_exactly_the_runbooks_whose_matchers_its_labels_contain(matcher_sets, labels, titles):
    Runbook.objects.all().delete()
    forget_runbooks()
    runbooks = [
        Runbook.objects.create(title=titles[i] if i < len(titles) else "w", matchers=matchers)
        for i, matchers in enumerate(matcher_sets)
    ]
    links = runbook_links(labels)
    assert [link["id"] for link in links] == reference(runbooks, labels)
    assert all(link["url"] == f"/runbooks/{link['id']}/" for link in links)


def test_a_runbook_without_matchers_applies_to_no_alert():
    make_runbook(title="By hand only", matchers={})
    assert runbook_links({"host": "web-1"}) == []
    assert runbook_links({}) == []


def test_an_alertmanager_runbook_url_label_is_a_link_after_the_matching_runbooks():
    runbook = make_runbook(title="Disk", matchers={"host": "db-1"})
    labels = {"host": "db-1", "runbook_url": "https://wiki.example.com/disk"}
    assert runbook_links(labels) == [
        {"id": runbook.pk, "title": "Disk", "url": f"/runbooks/{runbook.pk}/"},
        {"id": None, "title": "Runbook", "url": "https://wiki.example.com/disk"},
    ]


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "wiki/disk", "https://", "ftp://x/y"])
def test_a_runbook_url_label_that_is_not_a_web_link_is_no_link(url):
    assert runbook_links({"runbook_url": url}) == []


def test_a_runbook_written_in_this_process_is_matched_at_once():
    alert = make_alert(labels={"host": "db-1"})
    assert alert_data(alert)["runbooks"] == []
    runbook = make_runbook(title="Disk", matchers={"host": "db-1"})
    assert [link["id"] for link in alert_data(alert)["runbooks"]] == [runbook.pk]
    runbook.delete()
    assert alert_data(alert)["runbooks"] == []


def test_the_alert_api_lists_runbooks_with_one_query_whatever_the_number_of_alerts():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token()[1]}")
    disk = make_runbook(title="Disk", matchers={"category": "disk"})
    make_runbook(title="Other", matchers={"category": "net"})
    for number in range(3):
        make_alert(labels={"category": "disk", "n": str(number)})
    client.get("/api/v1/alerts/")  # the token's first use writes its last-used time
    forget_runbooks()
    with CaptureQueriesContext(connection) as few:
        first = client.get("/api/v1/alerts/?page_size=500").json()
    for number in range(30):
        make_alert(labels={"category": "disk", "n": str(number + 3)})
    forget_runbooks()
    with CaptureQueriesContext(connection) as many:
        second = client.get("/api/v1/alerts/?page_size=500").json()
    assert len(many) == len(few)
    runbook_queries = [query for query in many.captured_queries if "runbooks_runbook" in query["sql"]]
    assert len(runbook_queries) == 1
    assert {link["id"] for alert in second["results"] for link in alert["runbooks"]} == {disk.pk}
    assert len(second["results"]) == 33 and len(first["results"]) == 3


def test_the_pushed_alert_carries_the_same_runbooks_as_the_api(django_capture_on_commit_callbacks):
    runbook = make_runbook(title="CPU", matchers={"team": "core"})
    alert = make_alert(labels={"team": "core"})
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token()[1]}")
    answer = client.get(f"/api/v1/alerts/{alert.pk}/").json()
    assert answer["runbooks"] == [{"id": runbook.pk, "title": "CPU", "url": f"/runbooks/{runbook.pk}/"}]
    assert alert_data(alert) == answer


def test_a_matcher_value_that_is_not_a_string_matches_only_an_equal_label_and_breaks_nothing():
    # The admin takes any JSON for matchers; the API takes only strings.
    odd = Runbook.objects.create(title="Odd", matchers={"host": ["db-1"]})
    plain = make_runbook(title="Plain", matchers={"host": "db-1"})
    assert [link["id"] for link in runbook_links({"host": "db-1"})] == [plain.pk]
    assert [link["id"] for link in runbook_links({"host": ["db-1"]})] == [odd.pk]
