"""Prometheus Alertmanager's webhook payload (version 4), which Grafana's webhook contact point also sends.

Reference: https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
and https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.dateparse import parse_datetime

from alerts.models import FINGERPRINT_PATTERN, MAX_LABEL_KEY, MAX_LABEL_VALUE, MAX_LABELS, Severity
from alerts.services import IllegalTransition, fingerprint_for, raise_alert, resolve, unresolved_alert

logger = logging.getLogger(__name__)

MAX_ALERTS = 1_000
VERSIONS = {"4", "1"}  # Alertmanager's webhook version; Grafana's contact point sends its own "1"
SEVERITIES = {Severity.CRITICAL, Severity.WARNING, Severity.INFO}


class InvalidPayload(Exception):
    """The payload, or one alert of it, is not what Alertmanager sends; ``item`` says where."""

    def __init__(self, item: str, message: str) -> None:
        super().__init__(f"{item}: {message}")
        self.item = item
        self.message = message


@dataclass(frozen=True)
class WebhookAlert:
    firing: bool
    fingerprint: str
    labels: dict[str, str]
    title: str
    message: str
    severity: str
    starts_at: datetime | None


@dataclass(frozen=True)
class Notification:
    sender: str  # "alertmanager" or "grafana": the alert's source and its resolver's name
    alerts: list[WebhookAlert]
    truncated: int


def _strings(value: Any, item: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidPayload(item, "must be an object of strings")
    return value


def _alert(raw: Any, item: str, sender: str) -> WebhookAlert:
    if not isinstance(raw, dict):
        raise InvalidPayload(item, "must be an object")
    status = raw.get("status")
    if status not in ("firing", "resolved"):
        raise InvalidPayload(f"{item}.status", 'must be "firing" or "resolved"')
    labels = _strings(raw.get("labels"), f"{item}.labels")
    annotations = _strings(raw.get("annotations"), f"{item}.annotations")
    if len(labels) >= MAX_LABELS:
        raise InvalidPayload(f"{item}.labels", f"at most {MAX_LABELS - 1} labels")
    for key, value in labels.items():
        if not 0 < len(key) <= MAX_LABEL_KEY or len(value) > MAX_LABEL_VALUE:
            raise InvalidPayload(
                f"{item}.labels.{key[:MAX_LABEL_KEY]}",
                f"label names are 1-{MAX_LABEL_KEY} characters, values at most {MAX_LABEL_VALUE}",
            )
    fingerprint = raw.get("fingerprint") or ""
    if fingerprint and (not isinstance(fingerprint, str) or not FINGERPRINT_PATTERN.fullmatch(fingerprint)):
        raise InvalidPayload(f"{item}.fingerprint", "must be up to 64 letters, digits or . _ : -")
    if not fingerprint:
        if not labels:
            raise InvalidPayload(item, "has neither a fingerprint nor labels to identify it")
        fingerprint = fingerprint_for(sender, "custom", labels)
    starts_at = None
    if raw.get("startsAt"):
        starts_at = parse_datetime(raw["startsAt"]) if isinstance(raw["startsAt"], str) else None
        if starts_at is None:
            raise InvalidPayload(f"{item}.startsAt", "must be an RFC 3339 date-time")
    runbook = annotations.get("runbook_url", "")
    if runbook:
        # Kept as a label: it shows with the alert and reaches notifications.
        labels = {**labels, "runbook_url": runbook[:MAX_LABEL_VALUE]}
    severity = labels.get("severity", "").lower()
    title = annotations.get("summary") or labels.get("alertname") or f"{sender} alert {fingerprint}"
    return WebhookAlert(
        firing=status == "firing",
        fingerprint=fingerprint,
        labels=labels,
        title=title[:200],
        message=annotations.get("description", "")[:20_000],
        severity=severity if severity in SEVERITIES else Severity.WARNING,
        starts_at=starts_at,
    )


def parse_notification(body: Any) -> Notification:
    """The alerts of a webhook body, each checked; InvalidPayload naming the first item at fault."""
    if not isinstance(body, dict):
        raise InvalidPayload("body", "must be a JSON object")
    version = body.get("version")
    if version is not None and version not in VERSIONS:
        raise InvalidPayload("version", f'must be "4" (Alertmanager) or "1" (Grafana), not {str(version)[:20]!r}')
    raw_alerts = body.get("alerts")
    if not isinstance(raw_alerts, list):
        raise InvalidPayload("alerts", "must be a list of alerts")
    if len(raw_alerts) > MAX_ALERTS:
        raise InvalidPayload("alerts", f"at most {MAX_ALERTS} alerts per request (set max_alerts in webhook_configs)")
    truncated = body.get("truncatedAlerts", 0)
    if isinstance(truncated, bool) or not isinstance(truncated, int) or truncated < 0:
        raise InvalidPayload("truncatedAlerts", "must be a whole number")
    sender = "grafana" if "orgId" in body else "alertmanager"
    alerts = [_alert(raw, f"alerts[{index}]", sender) for index, raw in enumerate(raw_alerts)]
    return Notification(sender=sender, alerts=alerts, truncated=truncated)


@transaction.atomic
def receive_notification(notification: Notification) -> dict[str, int]:
    """Raise every firing alert and resolve every resolved one, all in one transaction.

    A resolved alert that the console does not have unresolved (never seen,
    or resolved already) changes nothing. Returns the counts the endpoint answers.
    """
    raised = resolved = 0
    for alert in notification.alerts:
        if alert.firing:
            raise_alert(
                source=notification.sender,
                title=alert.title,
                message=alert.message,
                severity=alert.severity,
                labels=alert.labels,
                fingerprint=alert.fingerprint,
                starts_at=alert.starts_at,
                actor=notification.sender,
            )
            raised += 1
            continue
        existing = unresolved_alert(alert.fingerprint)
        if existing is None:
            continue
        try:
            resolve(existing.pk, actor=notification.sender, resolution=f"Resolved by {notification.sender}.")
        except IllegalTransition:
            continue  # resolved meanwhile by someone else: the state asked for holds
        resolved += 1
    if notification.truncated:
        logger.warning(
            "%s truncated %d alerts of one notification: raise max_alerts or send fewer per group",
            notification.sender,
            notification.truncated,
        )
    return {"raised": raised, "resolved": resolved, "truncated": notification.truncated}
