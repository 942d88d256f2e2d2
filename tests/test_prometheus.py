"""GET /metrics: the console's own metrics in Prometheus text, for a token or a staff session (contract, 7).

Every number is read back through prometheus_client's own parser. Other tests
(and earlier runs of this process's pid) count into the same files, so each
test compares the scrape before and after what it does.
"""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from alerts.models import NotificationChannel
from alerts.notifications import deliver_notifications
from alerts.tests.factories import make_alert
from alerts.tests.receivers import Receiver
from opsconsole import telemetry
from realtime import schedule
from realtime.delivery import Outbox
from realtime.envelope import envelope
from realtime.frames import Frame
from realtime.publish import publish
from realtime.topics import ALERTS
from tests.factories import make_token

pytestmark = pytest.mark.django_db


def parse(text):
    """{(sample name, sorted label items): value} of an exposition."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client, key):
    answer = client.get("/metrics", HTTP_AUTHORIZATION=f"Token {key}")
    assert answer.status_code == 200, answer.content
    return parse(answer.content.decode())


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples, name, **labels):
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (sample, items), v in samples.items() if sample == name and wanted <= set(items))


def test_a_staff_token_gets_prometheus_text_that_prometheus_client_parses(client, staff_token):
    client.get("/healthz")  # a request counted before the scrape (which counts itself only once answered)
    answer = client.get("/metrics", HTTP_AUTHORIZATION=f"Token {staff_token}")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    families = {family.name: family for family in text_string_to_metric_families(answer.content.decode())}
    assert families["opsconsole_http_requests"].type == "counter"
    assert families["opsconsole_http_request_duration_seconds"].type == "histogram"


def test_openmetrics_is_served_to_a_scraper_that_asks_for_it(client, staff_token):
    answer = client.get(
        "/metrics", HTTP_AUTHORIZATION=f"Token {staff_token}", HTTP_ACCEPT="application/openmetrics-text"
    )
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/openmetrics-text")
    assert answer.content.decode().endswith("# EOF\n")


def test_without_credentials_the_answer_is_401_in_json(client):
    answer = client.get("/metrics")
    assert answer.status_code == 401
    assert "detail" in answer.json()


def test_a_token_of_a_user_without_the_permission_is_403(client, plain_user):
    _, key = make_token(plain_user)
    answer = client.get("/metrics", HTTP_AUTHORIZATION=f"Token {key}")
    assert answer.status_code == 403
    assert "detail" in answer.json()


def test_a_token_of_a_user_granted_view_series_may_scrape(client, plain_user):
    plain_user.user_permissions.add(Permission.objects.get(codename="view_series", content_type__app_label="metrics"))
    _, key = make_token(plain_user)
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


def test_a_staff_session_may_scrape_and_another_session_may_not(client, staff_user, plain_user):
    client.force_login(plain_user)
    assert client.get("/metrics").status_code == 403
    client.force_login(staff_user)
    assert client.get("/metrics").status_code == 200


def test_the_explorer_page_stays_at_metrics_with_a_slash(staff_client):
    answer = staff_client.get("/metrics/")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/html")


def test_requests_are_counted_by_route_name_and_status_not_by_path(client, staff_token):
    alerts = [make_alert(title=f"a{n}") for n in range(2)]
    before = scrape(client, staff_token)
    for alert in alerts:
        client.get(f"/api/v1/alerts/{alert.pk}/", HTTP_AUTHORIZATION=f"Token {staff_token}")
    client.get("/api/v1/alerts/999999/", HTTP_AUTHORIZATION=f"Token {staff_token}")
    client.get("/no/such/page/", HTTP_AUTHORIZATION=f"Token {staff_token}")
    after = scrape(client, staff_token)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("opsconsole_http_requests_total", view="alert-detail", method="GET", status="200") == 2
    assert moved("opsconsole_http_requests_total", view="alert-detail", method="GET", status="404") == 1
    assert moved("opsconsole_http_requests_total", view="unmatched", method="GET", status="404") == 1
    assert moved("opsconsole_http_request_duration_seconds_count", view="alert-detail") == 3
    assert not any("/api/" in label_value for _, labels in after for _, label_value in labels)


def test_a_method_nobody_uses_is_counted_as_other(client, staff_token):
    before = scrape(client, staff_token)
    client.generic("BREW", "/healthz")
    after = scrape(client, staff_token)
    assert (
        total(after, "opsconsole_http_requests_total", view="healthz", method="other")
        - total(before, "opsconsole_http_requests_total", view="healthz", method="other")
        == 1
    )
    assert not any("BREW" in str(labels) for _, labels in after)


def test_ingested_points_are_counted_accepted_and_refused(client, staff_token):
    before = scrape(client, staff_token)
    headers = {"HTTP_AUTHORIZATION": f"Token {staff_token}"}
    good = {"points": [{"name": "queue_depth", "value": n} for n in range(3)]}
    bad = {"points": [{"name": "queue_depth", "value": 1}, {"name": "queue_depth", "value": "x"}]}
    assert client.post("/api/v1/metrics/ingest/", good, content_type="application/json", **headers).status_code == 202
    assert client.post("/api/v1/metrics/ingest/", bad, content_type="application/json", **headers).status_code == 400
    after = scrape(client, staff_token)
    assert (
        value(after, "opsconsole_ingest_points_total", outcome="accepted")
        - value(before, "opsconsole_ingest_points_total", outcome="accepted")
        == 3
    )
    assert (
        value(after, "opsconsole_ingest_points_total", outcome="refused")
        - value(before, "opsconsole_ingest_points_total", outcome="refused")
        == 2
    )


def test_published_events_are_counted_by_topic_and_type(client, staff_token):
    before = scrape(client, staff_token)
    publish(ALERTS, "alert_summary", {"firing": 0})
    publish(ALERTS, "alert_summary", {"firing": 1})
    after = scrape(client, staff_token)
    labels = {"topic": "alerts", "type": "alert_summary"}
    assert (
        value(after, "opsconsole_events_published_total", **labels)
        - value(before, "opsconsole_events_published_total", **labels)
        == 2
    )


@pytest.fixture
def failing_job():
    def fail():
        raise RuntimeError("broken on purpose")

    schedule.register_job("test-failing-job", fail, "OPSCONSOLE_RULES_INTERVAL")
    yield "test-failing-job"
    schedule._jobs.pop("test-failing-job")  # the table is the process's; no other test may run it


@pytest.mark.django_db(transaction=True)  # run_job closes the connection, as a worker's job does
def test_job_runs_failures_and_durations_are_counted(client, staff_token, failing_job):
    before = scrape(client, staff_token)
    schedule.run_job("broadcast-alert-summary")
    with pytest.raises(RuntimeError):
        schedule.run_job(failing_job)
    after = scrape(client, staff_token)

    def moved(name, job):
        return value(after, name, periodic_job=job) - value(before, name, periodic_job=job)

    assert moved("opsconsole_job_runs_total", "broadcast-alert-summary") == 1
    assert moved("opsconsole_job_failures_total", "broadcast-alert-summary") == 0
    assert moved("opsconsole_job_duration_seconds_count", "broadcast-alert-summary") == 1
    assert moved("opsconsole_job_runs_total", failing_job) == 1
    assert moved("opsconsole_job_failures_total", failing_job) == 1


@pytest.mark.django_db(transaction=True)  # sends run on the sender's threads, which see committed rows only
def test_notification_attempts_are_counted_by_outcome(client, staff_token, settings):
    settings.OPSCONSOLE_WEBHOOK_DENY_NETWORKS = []  # the receiver is on loopback
    receiver = Receiver(lambda receiver, number, headers, body: (503 if number <= 1 else 200, {}))
    try:
        NotificationChannel.objects.create(name="hook", kind="webhook", url=receiver.url, secret="s")
        make_alert(title="Disk full")
        before = scrape(client, staff_token)
        now = timezone.now()
        assert deliver_notifications(now=now) == {"pending": 1}
        assert deliver_notifications(now=now + timedelta(hours=1)) == {"sent": 1}
        after = scrape(client, staff_token)
    finally:
        receiver.close()

    def moved(outcome):
        labels = {"kind": "webhook", "outcome": outcome}
        return value(after, "opsconsole_notifications_total", **labels) - value(
            before, "opsconsole_notifications_total", **labels
        )

    assert (moved("retrying"), moved("sent"), moved("failed")) == (1, 1, 0)


def test_delivery_latency_is_a_histogram_of_every_socket_copy(client, staff_token):
    before = scrape(client, staff_token)
    sent = []

    async def send(frame: Frame):
        sent.append(frame)

    async def deliver():
        tally = telemetry.delivery_tally("/ws/test")
        outboxes = [Outbox(send, tally=tally) for _ in range(3)]
        fresh = envelope("alert", {"n": 1}, {"seq": 1})
        old = envelope("alert", {"n": 2}, {"seq": 2})
        old["timestamp"] = (datetime.now(UTC) - timedelta(seconds=2)).isoformat().replace("+00:00", "Z")
        for outbox in outboxes:
            sending = outbox.offer(fresh)  # the first after a quiet interval goes at once
            assert sending is not None
            await sending
            outbox.offer(old)
            await outbox.flush()
        telemetry.flush_deliveries()

    asyncio.run(deliver())
    after = scrape(client, staff_token)
    labels = {"endpoint": "/ws/test"}

    def moved(name, **more):
        return value(after, name, **labels, **more) - value(before, name, **labels, **more)

    assert len(sent) == 6
    assert moved("opsconsole_ws_events_delivered_total") == 6
    assert moved("opsconsole_ws_delivery_latency_seconds_count") == 6
    assert moved("opsconsole_ws_delivery_latency_seconds_bucket", le="1.0") == 3  # the fresh copies
    assert moved("opsconsole_ws_delivery_latency_seconds_bucket", le="2.5") == 6  # and the 2 s old ones
    assert 6 <= moved("opsconsole_ws_delivery_latency_seconds_sum") < 6.5


def test_a_scrape_sums_every_process_and_drops_the_sockets_of_dead_ones(client, staff_token, tmp_path):
    # Files another live process and a dead one left, as prometheus_client writes them.
    import subprocess
    import sys

    code = (
        "import os, sys; os.environ['DJANGO_SETTINGS_MODULE'] = 'opsconsole.settings'; "
        "import django; django.setup(); from opsconsole import telemetry; "
        "telemetry.ws_sockets.labels('/ws/sum-test').inc(4); "
        "telemetry.events_published.labels('sum-test', 'x').inc(5)"
    )
    before = scrape(client, staff_token)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)  # a process that counts, then ends
    telemetry.ws_sockets.labels("/ws/sum-test").inc(2)
    telemetry.events_published.labels("sum-test", "x").inc(1)
    after = scrape(client, staff_token)
    try:
        assert (
            value(after, "opsconsole_events_published_total", topic="sum-test", type="x")
            - value(before, "opsconsole_events_published_total", topic="sum-test", type="x")
            == 6
        )  # the ended process's counts stay in the sum
        assert value(after, "opsconsole_ws_sockets", endpoint="/ws/sum-test") == 2  # its sockets do not
    finally:
        telemetry.ws_sockets.labels("/ws/sum-test").dec(2)


# The Accept header of a Prometheus 2 scrape (its default preference: OpenMetrics, then the 0.0.4
# text), as the Datadog Agent's OpenMetrics integration documents copying it.
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


def test_the_scrape_job_of_the_integrations_guide_is_served(client, staff_token):
    import re
    from pathlib import Path

    import yaml
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families

    guide = (Path(__file__).resolve().parent.parent / "docs" / "integrations.md").read_text()
    section = guide.split("## Prometheus scrape", 1)[1]
    job = yaml.safe_load(re.search(r"```yaml\n(.*?)```", section, re.S).group(1))["scrape_configs"][0]
    assert job["authorization"].get("type", "Bearer") == "Bearer"
    client.get("/healthz")
    answer = client.get(job["metrics_path"], HTTP_AUTHORIZATION=f"Bearer {staff_token}", HTTP_ACCEPT=PROMETHEUS_ACCEPT)
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    names = {family.name for family in openmetrics_families(answer.content.decode())}
    assert "opsconsole_http_requests" in names
