"""On-call tests page receivers on loopback, which production denies by default."""

from ipaddress import ip_network

import pytest

from tests.factories import make_user


@pytest.fixture(autouse=True)
def _loopback_receivers_allowed(settings):
    # Everything else stays denied (link-local, the cloud metadata address, unspecified).
    settings.OPSCONSOLE_WEBHOOK_DENY_NETWORKS = [
        ip_network(net) for net in ("169.254.0.0/16", "fe80::/10", "0.0.0.0/8", "::/128")
    ]


@pytest.fixture
def admin_client(client):
    """A client signed in as a superuser, for the admin's pages."""
    client.force_login(make_user(superuser=True))
    return client
