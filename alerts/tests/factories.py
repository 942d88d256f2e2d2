"""Alerts and incidents made through the services, as the product makes them."""

import itertools
from typing import Any

from alerts import incidents, services

_numbers = itertools.count(1)


def make_alert(**fields):
    number = next(_numbers)
    values: dict[str, Any] = {
        "source": f"host-{number}",
        "title": f"Alert {number}",
        "category": "cpu",
        "severity": "warning",
        "labels": {"host": f"web-{number}"},
        "actor": "test",
    }
    values.update(fields)
    return services.raise_alert(**values)[0]


def make_incident(**fields):
    values: dict[str, Any] = {"title": f"Incident {next(_numbers)}", "actor": "test"}
    values.update(fields)
    return incidents.open_incident(**values)
