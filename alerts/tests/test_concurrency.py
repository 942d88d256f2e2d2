"""State changes stay correct when many requests race for the same alert."""

import threading

import pytest
from django.db import connections
from django.test import Client

from alerts.models import Alert, AlertEvent, EventKind
from alerts.tests.factories import make_alert
from tests.factories import make_token

pytestmark = pytest.mark.django_db(transaction=True)


def race(count, request):
    """Run ``request(client)`` from ``count`` threads released at once; returns their status codes."""
    barrier = threading.Barrier(count)
    codes = []

    def worker():
        client = Client()
        try:
            barrier.wait(timeout=10)
            codes.append(request(client))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(codes)


def test_twenty_concurrent_resolves_give_one_success_and_one_event():
    _, key = make_token()
    alert = make_alert()
    codes = race(
        20,
        lambda client: (
            client.post(
                f"/api/v1/alerts/{alert.pk}/resolve/",
                {"resolution": "raced"},
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Token {key}",
            ).status_code
        ),
    )
    assert codes == [200] + [409] * 19
    assert AlertEvent.objects.filter(alert=alert, kind=EventKind.ALERT_RESOLVED).count() == 1


def test_concurrent_posts_of_one_alert_make_one_alert_counting_every_occurrence():
    _, key = make_token()
    body = {"source": "race", "category": "cpu", "title": "raced", "labels": {"host": "r1"}}
    codes = race(
        10,
        lambda client: (
            client.post(
                "/api/v1/alerts/", body, content_type="application/json", HTTP_AUTHORIZATION=f"Token {key}"
            ).status_code
        ),
    )
    assert codes == [200] * 9 + [201]
    alert = Alert.objects.get(source="race")
    assert alert.occurrences == 10
    assert AlertEvent.objects.filter(alert=alert, kind=EventKind.ALERT_UPDATED).count() == 9
