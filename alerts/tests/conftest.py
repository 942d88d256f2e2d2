"""Notification tests talk to receivers on loopback, which production denies by default."""

import pytest

from alerts.tests.receivers import allow_loopback_receivers


@pytest.fixture(autouse=True)
def _loopback_receivers_allowed(settings):
    allow_loopback_receivers(settings)
