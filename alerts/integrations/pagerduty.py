"""PagerDuty Events API v2 (``/v2/enqueue``): trigger, acknowledge and resolve by ``dedup_key``.

Reference: https://developer.pagerduty.com/docs/events-api-v2/trigger-events/ and
https://developer.pagerduty.com/docs/events-api-v2/acknowledge-events/ (and resolve-events).
Errors list every problem, as PagerDuty's ``errors`` does; an acknowledge
or resolve whose ``dedup_key`` has no open alert changes nothing and still
succeeds, as PagerDuty answers it.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.dateparse import parse_datetime

from alerts.models import FINGERPRINT_PATTERN, Alert, Severity
from alerts.services import IllegalTransition, acknowledge, raise_alert, resolve, unresolved_alert

SENDER = "pagerduty"
ACTIONS = ("trigger", "acknowledge", "resolve")
# PagerDuty's four severities onto the console's three: "error" pages as PagerDuty's
# severity-based urgency pages it (high urgency, like critical).
SEVERITIES = {
    "critical": Severity.CRITICAL,
    "error": Severity.CRITICAL,
    "warning": Severity.WARNING,
    "info": Severity.INFO,
}
MAX_DEDUP_KEY = 255
LABEL_FIELDS = ("component", "group", "class")


class InvalidEvent(Exception):
    """What PagerDuty answers 400 "Event object is invalid" to; ``errors`` lists each problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Event:
    action: str
    dedup_key: str
    generated_key: bool
    summary: str = ""
    source: str = ""
    severity: str = Severity.WARNING
    timestamp: datetime | None = None
    labels: dict[str, str] | None = None
    details: str = ""


def fingerprint_of(dedup_key: str) -> str:
    """The alert fingerprint of a dedup_key: the key itself when it is a valid fingerprint, else its hash."""
    if FINGERPRINT_PATTERN.fullmatch(dedup_key):
        return dedup_key
    return hashlib.sha256(dedup_key.encode()).hexdigest()


def _text(payload: dict[str, Any], field: str, errors: list[str], limit: int, required: bool) -> str:
    value = payload.get(field)
    if value is None or value == "":
        if required:
            errors.append(f"'payload.{field}' is missing or blank")
        return ""
    if not isinstance(value, str):
        errors.append(f"'payload.{field}' must be a string")
        return ""
    if len(value) > limit:
        errors.append(f"'payload.{field}' is longer than {limit} characters")
    return value


def parse_event(body: Any) -> Event:
    """The event of an Events API v2 body, or InvalidEvent listing what is wrong."""
    if not isinstance(body, dict):
        raise InvalidEvent(["The body must be a JSON object"])
    errors: list[str] = []
    action = body.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' must be one of trigger, acknowledge, resolve")
    dedup_key = body.get("dedup_key")
    generated = False
    if dedup_key is None or dedup_key == "":
        if action != "trigger":
            errors.append("'dedup_key' is required to acknowledge or resolve")
        dedup_key, generated = uuid.uuid4().hex, True
    elif not isinstance(dedup_key, str) or len(dedup_key) > MAX_DEDUP_KEY:
        errors.append(f"'dedup_key' must be a string of at most {MAX_DEDUP_KEY} characters")
        dedup_key = ""
    if action != "trigger":
        if errors:
            raise InvalidEvent(errors)
        return Event(action=str(action), dedup_key=dedup_key, generated_key=generated)
    payload = body.get("payload")
    if not isinstance(payload, dict):
        raise InvalidEvent([*errors, "'payload' is required to trigger and must be an object"])
    summary = _text(payload, "summary", errors, 1024, required=True)
    source = _text(payload, "source", errors, 255, required=True)
    raw_severity = payload.get("severity")
    if raw_severity not in SEVERITIES:
        errors.append("'payload.severity' must be one of critical, error, warning, info")
    timestamp = None
    if payload.get("timestamp") is not None:
        raw = payload["timestamp"]
        timestamp = parse_datetime(raw) if isinstance(raw, str) else None
        if timestamp is None:
            errors.append("'payload.timestamp' must be an ISO 8601 date-time")
    labels = {"source": source[:500]}
    for field in LABEL_FIELDS:
        value = _text(payload, field, errors, 500, required=False)
        if value:
            labels[field] = value
    details = payload.get("custom_details")
    if errors:
        raise InvalidEvent(errors)
    return Event(
        action="trigger",
        dedup_key=dedup_key,
        generated_key=generated,
        summary=summary,
        source=source,
        severity=SEVERITIES[str(raw_severity)],
        timestamp=timestamp,
        labels=labels,
        # Kept whole, as the alert's message: any JSON, where labels hold strings only.
        details="" if details is None else json.dumps(details, indent=2, ensure_ascii=False, sort_keys=True),
    )


@transaction.atomic
def receive_event(event: Event) -> Alert | None:
    """Apply one event; returns the alert it changed, or None when acknowledge/resolve found no open alert."""
    fingerprint = fingerprint_of(event.dedup_key)
    if event.action == "trigger":
        message = event.details if len(event.summary) <= 200 else f"{event.summary}\n\n{event.details}".strip()
        alert, _created = raise_alert(
            source=SENDER,
            title=event.summary[:200],
            message=message[:20_000],
            severity=event.severity,
            labels={**(event.labels or {}), "dedup_key": event.dedup_key},
            fingerprint=fingerprint,
            starts_at=event.timestamp,
            actor=SENDER,
        )
        return alert
    existing = unresolved_alert(fingerprint)
    if existing is None:
        return None
    try:
        if event.action == "acknowledge":
            return acknowledge(existing.pk, actor=SENDER)
        return resolve(existing.pk, actor=SENDER, resolution="Resolved by a PagerDuty resolve event.")
    except IllegalTransition:
        return existing  # acknowledged twice, or resolved meanwhile: the state asked for holds
