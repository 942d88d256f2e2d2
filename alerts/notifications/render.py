"""The words of a notification: one subject line and a plain-text body, for e-mail and chat alike.

Everything user-supplied (titles, labels, comments) may hold newlines or control
characters; :func:`one_line` makes a value safe for a header or a chat title.
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse

HEADLINES = {
    "alert.fired": "FIRING",
    "alert.unsilenced": "FIRING (its silence ended)",
    "alert.repeated": "STILL FIRING",
    "alert.acknowledged": "ACKNOWLEDGED",
    "alert.unacknowledged": "FIRING (its acknowledgement expired)",
    "alert.resolved": "RESOLVED",
    "flapping": "FLAPPING",
    "settled": "SETTLED",
    "test": "TEST",
}
SUBJECT_MAX = 200


@dataclass(frozen=True)
class Message:
    subject: str
    title: str
    details: str  # what follows the title: a chat shows the subject as its title

    @property
    def body(self) -> str:
        """The e-mail body: the alert's title, then the details."""
        return self.title + "\n\n" + self.details


def one_line(text: object, limit: int = SUBJECT_MAX) -> str:
    """Whitespace runs (newlines included) become one space, control characters go; at most ``limit`` long."""
    printable = "".join(ch if ch.isprintable() or ch.isspace() else " " for ch in str(text))
    folded = " ".join(printable.split())
    return folded if len(folded) <= limit else folded[: limit - 1] + "…"


def alert_link(alert_id: object) -> str:
    # The alert's own page: its timeline, its metric and the actions, where on-call work starts.
    return settings.OPSCONSOLE_PUBLIC_URL + reverse("alert-detail", args=[alert_id])


def absolute_url(url: str) -> str:
    """A console path as a link a reader can follow from outside; a full URL as it is."""
    return url if urlsplit(url).scheme else settings.OPSCONSOLE_PUBLIC_URL + url


def with_absolute_links(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as a webhook receives it: the alert's runbook links absolute, like every other link it gets."""
    alert = payload.get("alert")
    if not isinstance(alert, dict) or not alert.get("runbooks"):
        return payload
    runbooks = [{**link, "url": absolute_url(str(link.get("url", "")))} for link in alert["runbooks"]]
    return {**payload, "alert": {**alert, "runbooks": runbooks}}


def _runbook_lines(alert: dict[str, Any]) -> list[str]:
    # Payloads queued before runbooks existed have none: nothing to add.
    return [
        f"Runbook: {one_line(link.get('title', ''), 200)} {absolute_url(one_line(link.get('url', ''), 2000))}"
        for link in alert.get("runbooks") or []
    ]


def headline(event: str, alert: dict[str, Any]) -> str:
    words = HEADLINES.get(event, one_line(event, 40).upper())
    if event == "settled":  # the state it settled in is the news
        words += f" ({one_line(alert.get('status', ''), 20)})"
    return words


def _value_line(alert: dict[str, Any]) -> str | None:
    if alert.get("value") is None:
        return None
    line = f"Value: {alert['value']:g}"
    if alert.get("threshold") is not None:
        line += f" (threshold {alert['threshold']:g})"
    return line


def render(payload: dict[str, Any]) -> Message:
    alert = payload["alert"]
    event = payload["event"]
    severity = one_line(alert.get("severity", ""), 20)
    subject = one_line(f"[{severity}] {headline(event, alert)}: {alert.get('title', '')}")
    labels = ", ".join(f"{one_line(k, 100)}={one_line(v, 200)}" for k, v in sorted((alert.get("labels") or {}).items()))
    lines = [
        f"{headline(event, alert)} · severity {severity} · status {one_line(alert.get('status', ''), 20)}",
        _value_line(alert),
        f"Labels: {labels}" if labels else None,
        f"Source: {one_line(alert.get('source', ''), 200)}" if alert.get("source") else None,
        "Flapping: it changed state too often; one notification now, one more when it settles."
        if event == "flapping"
        else None,
        f"Acknowledged by {one_line(alert['acknowledged_by'], 150)}" if alert.get("acknowledged_by") else None,
        f"Comment: {one_line(payload['comment'], 1000)}" if payload.get("comment") else None,
        f"Resolved by {one_line(alert['resolved_by'], 150)}"
        if event == "alert.resolved" and alert.get("resolved_by")
        else None,
        f"Resolution: {one_line(alert['resolution'], 1000)}"
        if event == "alert.resolved" and alert.get("resolution")
        else None,
        f"Started: {alert['starts_at']}" if alert.get("starts_at") else None,
    ]
    if alert.get("message"):
        lines += ["", str(alert["message"])[:4000]]
    runbooks = _runbook_lines(alert)
    if runbooks:
        lines += ["", *runbooks]
    if alert.get("id") is not None:
        lines += ["", f"Open the alert: {alert_link(alert['id'])}"]
    title = one_line(alert.get("title", ""), 500)
    return Message(subject=subject, title=title, details="\n".join(line for line in lines if line is not None))
