"""Where webhooks may go: schemes, denied networks (at save and at send), redirects, our own error words."""

import socket
import threading
from ipaddress import ip_network

import pytest
from django.core.exceptions import ValidationError

from alerts.models import Delivery, NotificationChannel
from alerts.notifications import deliver_notifications
from alerts.tests.factories import make_alert
from alerts.tests.receivers import Receiver

pytestmark = pytest.mark.django_db(transaction=True)

DEFAULT_DENIED = [
    ip_network(n) for n in ("127.0.0.0/8", "::1/128", "169.254.0.0/16", "fe80::/10", "0.0.0.0/8", "::/128")
]


def redirecting(code, location):
    def answer(receiver, number, headers, body):
        return (code, {"Location": location}) if number == 1 else (200, {})

    return answer


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def send_one(url):
    NotificationChannel.objects.create(name="hook", kind="webhook", url=url)
    make_alert()
    deliver_notifications()
    return Delivery.objects.get()


def test_a_302_is_a_failed_attempt_with_a_clear_error(receiver):
    receiver.answer = redirecting(302, "/elsewhere")
    delivery = send_one(receiver.url)
    assert delivery.status == "failed" and delivery.response_code == 302
    assert "HTTP 302 redirect not followed" in delivery.last_error
    assert [path for path, _, _ in receiver.requests] == ["/hook"]  # no quiet GET to /elsewhere


def test_a_307_is_followed_with_its_method_and_body(receiver):
    receiver.answer = redirecting(307, "/final")
    delivery = send_one(receiver.url)
    assert delivery.status == "sent" and delivery.response_code == 200
    (first_path, _, first_body), (second_path, headers, second_body) = receiver.requests
    assert (first_path, second_path) == ("/hook", "/final")
    assert second_body == first_body and headers["Content-Type"] == "application/json"


def test_a_308_to_a_denied_network_is_refused(receiver, settings):
    receiver.answer = redirecting(308, "http://169.254.169.254/latest/meta-data/")
    delivery = send_one(receiver.url)
    assert delivery.status == "failed"
    assert "redirect to a refused target" in delivery.last_error and len(receiver.requests) == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hook",
        "http://[::1]/hook",
        "http://0.0.0.0/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:8080/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ],
)
def test_a_url_in_a_denied_network_is_refused_at_save(url, settings):
    settings.OPSCONSOLE_WEBHOOK_DENY_NETWORKS = DEFAULT_DENIED
    channel = NotificationChannel(name="bad", kind="webhook", url=url)
    with pytest.raises(ValidationError) as refused:
        channel.full_clean()
    assert "OPSCONSOLE_WEBHOOK_DENY_NETWORKS" in str(refused.value.message_dict["url"])


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "file:///etc/passwd", "gopher://example.com/"])
def test_only_http_and_https_urls_are_accepted(url):
    with pytest.raises(ValidationError) as refused:
        NotificationChannel(name="bad", kind="webhook", url=url).full_clean()
    assert "http:// or https://" in str(refused.value.message_dict["url"])


def test_a_private_network_address_is_allowed(settings):
    settings.OPSCONSOLE_WEBHOOK_DENY_NETWORKS = DEFAULT_DENIED
    NotificationChannel(name="lan", kind="webhook", url="http://10.1.2.3/hook").full_clean()


def test_a_host_name_resolving_to_loopback_fails_at_send(receiver, settings):
    settings.OPSCONSOLE_WEBHOOK_DENY_NETWORKS = DEFAULT_DENIED
    # Saved past the form (or resolving elsewhere when it was saved): the send checks what it connects to.
    delivery = send_one(f"http://localhost:{receiver.server.server_port}/hook")
    assert delivery.status == "failed" and receiver.requests == []
    assert "resolves only to addresses in a denied network" in delivery.last_error


def test_last_error_never_repeats_the_remote_banner():
    banner = socket.socket()
    banner.bind(("127.0.0.1", 0))
    banner.listen(4)

    def speak_smtp():
        while True:
            try:
                peer, _ = banner.accept()
            except OSError:
                return
            peer.sendall(b"220 sink.internal ESMTP Postfix (Debian)\r\n")
            peer.recv(65536)  # as a mail server does: it waits for a command
            peer.sendall(b"502 5.5.2 Error: command not recognized\r\n")
            peer.close()

    threading.Thread(target=speak_smtp, daemon=True).start()
    try:
        delivery = send_one(f"http://127.0.0.1:{banner.getsockname()[1]}/hook")
    finally:
        banner.close()
    assert delivery.status == "pending" and delivery.last_error == "127.0.0.1 did not answer in HTTP."


def test_a_refused_connection_reads_in_our_words():
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    delivery = send_one(f"http://127.0.0.1:{port}/hook")
    assert delivery.last_error == f"Could not connect to 127.0.0.1 port {port}."
