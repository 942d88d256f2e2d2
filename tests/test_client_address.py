"""X-Forwarded-For is believed only from OPSCONSOLE_TRUSTED_PROXIES, for throttles, logs and audit."""

import ipaddress
import urllib.error
import urllib.request

import pytest

from opsconsole.client_address import ClientAddressMiddleware, client_address
from opsconsole.environment import ConfigurationError, env_networks
from tests.live import run_coroutine, running_console


@pytest.fixture
def proxies(settings):
    settings.OPSCONSOLE_TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1")]


def test_an_untrusted_peer_is_the_client_whatever_it_forwards(proxies):
    assert client_address("198.51.100.4", "1.2.3.4") == "198.51.100.4"


def test_a_trusted_proxy_names_the_client(proxies):
    assert client_address("10.1.2.3", "203.0.113.9") == "203.0.113.9"
    assert client_address("::1", "2001:db8::5") == "2001:db8::5"


def test_addresses_a_client_wrote_before_the_proxies_are_not_believed(proxies):
    # The client sent "X-Forwarded-For: 1.1.1.1"; its proxy appended the real peer; a second proxy appended the first.
    assert client_address("10.0.0.2", "1.1.1.1, 203.0.113.9, 10.0.0.1") == "203.0.113.9"


def test_garbage_from_a_trusted_proxy_stops_at_the_last_vouched_address(proxies):
    assert client_address("10.0.0.2", "203.0.113.9, not-an-address, 10.0.0.1") == "10.0.0.1"


def test_nobody_is_trusted_by_default(settings):
    assert settings.OPSCONSOLE_TRUSTED_PROXIES == []
    assert client_address("127.0.0.1", "1.2.3.4") == "127.0.0.1"


def test_the_setting_names_a_bad_item(monkeypatch):
    monkeypatch.setenv("OPSCONSOLE_TRUSTED_PROXIES", "10.0.0.0/8, proxy.example.com")
    with pytest.raises(ConfigurationError, match="'proxy.example.com' is not an IP address or network"):
        env_networks("OPSCONSOLE_TRUSTED_PROXIES")


def test_the_asgi_scope_carries_the_real_client(proxies):
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["client"])

    middleware = ClientAddressMiddleware(app)
    headers = [(b"x-forwarded-for", b"203.0.113.9")]
    run_coroutine(middleware({"type": "http", "client": ("10.0.0.1", 5000), "headers": headers}, None, None))
    run_coroutine(middleware({"type": "websocket", "client": ("192.0.2.1", 5000), "headers": headers}, None, None))
    assert seen == [("203.0.113.9", 0), ("192.0.2.1", 5000)]


def _status(request):
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_rotating_forwarded_for_from_an_untrusted_peer_is_throttled_by_the_real_address():
    """The measured hole: 32 bad tokens, each with another X-Forwarded-For, all got 401 and none 429."""
    with running_console("embedded") as console:
        answers = []
        for number in range(40):
            request = urllib.request.Request(
                f"{console.url}/api/v1/alerts/",
                headers={"Authorization": f"Token oc_bad{number}", "X-Forwarded-For": f"198.51.100.{number}"},
            )
            answers.append(_status(request))
        assert set(answers[:30]) == {401}
        assert set(answers[30:]) == {429}
