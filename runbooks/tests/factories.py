"""Runbooks made as the API makes them (through the audit), for tests."""

import itertools
from typing import Any

from alerts.config_audit import save_audited
from runbooks.models import Runbook

_numbers = itertools.count(1)


def make_runbook(**fields: Any) -> Runbook:
    values: dict[str, Any] = {
        "title": f"Runbook {next(_numbers)}",
        "body": "1. Look at the graphs\n2. Restart the service\n3. Tell the channel",
        "matchers": {},
        "updated_by": "test",
    }
    values.update(fields)
    runbook = save_audited("test", lambda: Runbook.objects.create(**values))
    assert isinstance(runbook, Runbook)
    return runbook
