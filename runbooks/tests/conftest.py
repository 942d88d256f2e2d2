"""Notification tests talk to receivers on loopback, which production denies by default."""

from ipaddress import ip_network

import pytest


@pytest.fixture
def loopback_receivers_allowed(settings):
    # As alerts/tests does: everything else stays denied.
    settings.OPSCONSOLE_WEBHOOK_DENY_NETWORKS = [
        ip_network(net) for net in ("169.254.0.0/16", "fe80::/10", "0.0.0.0/8", "::/128")
    ]
