"""The postmortem export: an incident as one Markdown document (summary, timeline, alerts, evidence).

Everything a user typed (titles, notes, labels, names) goes through
``inline`` or ``block``, so it reads as text and never as Markdown: a
``|`` cannot split a table cell, a newline cannot end one, and a leading
``#`` or ``-`` cannot start a heading or a list. Times are UTC.
"""

import re
from datetime import UTC, datetime
from typing import Any

from alerts.evidence import incident_evidence, series_label
from alerts.incidents import timeline
from alerts.models import AlertEvent, Incident

SPARK = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 40
CHANGE_SHOWN = 120  # characters of a from or to value; a summary can be long
# Characters that are Markdown anywhere on a line; CommonMark reads any backslash-escaped
# ASCII punctuation as itself.
INLINE_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#~!&])")
# What else starts a block when it opens a line (list items, rules, setext underlines);
# ``#``, ``*``, ``>`` and fences are escaped everywhere already.
BLOCK_START = re.compile(r"^([-+=])")
ORDERED_ITEM = re.compile(r"^(\d+)([.)])")

KIND_WORDS = {
    "incident.opened": "opened",
    "incident.updated": "updated",
    "incident.status_changed": "status changed",
    "incident.note": "note",
    "incident.alert_attached": "alert attached",
    "incident.checklist_started": "checklist started",
    "incident.step_ticked": "step ticked",
    "incident.evidence_captured": "evidence captured",
}


def inline(text: Any) -> str:
    """``text`` safe in a table cell, a heading or a list item: one line, no Markdown."""
    one_line = " ".join(str(text).split())
    return INLINE_SPECIAL.sub(r"\\\1", one_line)


def block(text: str) -> str:
    """Multi-line ``text`` as a paragraph of its lines (hard breaks), no Markdown."""
    lines = []
    for line in str(text).splitlines():
        escaped = INLINE_SPECIAL.sub(r"\\\1", line.strip())
        escaped = ORDERED_ITEM.sub(r"\1\\\2", BLOCK_START.sub(r"\\\1", escaped))
        lines.append(escaped)
    return "\\\n".join(line for line in lines if line) or "—"


def when(moment: datetime | str | None) -> str:
    if moment is None:
        return "—"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float) -> str:
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min"]
    return " ".join(part for part in parts if part)


def number(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def sparkline(values: list[float]) -> str:
    """The values as block characters, at most SPARK_WIDTH of them (each the mean of its share)."""
    if not values:
        return "—"
    width = min(SPARK_WIDTH, len(values))
    shares = [values[len(values) * i // width : len(values) * (i + 1) // width] for i in range(width)]
    means = [sum(share) / len(share) for share in shares]
    low, high = min(means), max(means)
    span = (high - low) or 1
    return "".join(SPARK[int((mean - low) / span * (len(SPARK) - 1))] for mean in means)


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "—"
    text = str(value)
    return text if len(text) <= CHANGE_SHOWN else text[: CHANGE_SHOWN - 1] + "…"


def _what_changed(event: AlertEvent) -> str:
    data = event.data or {}
    if event.kind == "incident.status_changed":
        return f"status: {inline(_shown(data.get('from')))} → {inline(_shown(data.get('to')))}"
    if event.kind == "incident.opened":
        return f"severity: {inline(_shown(data.get('severity')))}"
    if event.kind == "incident.evidence_captured":
        return f"{data.get('series', 0)} series, {when(data.get('start'))} to {when(data.get('end'))}"
    changes = data.get("changes") or {}
    return "; ".join(
        f"{inline(field)}: {inline(_shown(pair[0]))} → {inline(_shown(pair[1]))}"
        for field, pair in changes.items()
        if isinstance(pair, list) and len(pair) == 2
    )


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def incident_report(incident_id: int) -> str:
    """The incident as Markdown. Raises Incident.DoesNotExist."""
    incident = Incident.objects.select_related("commander").get(pk=incident_id)
    end = incident.resolved_at
    lines = [
        f"# Incident #{incident.pk}: {inline(incident.title)}",
        "",
        *_table(
            ["Field", "Value"],
            [
                ["Status", inline(incident.status)],
                ["Severity", inline(incident.severity)],
                ["Commander", inline(incident.commander.get_username()) if incident.commander else "—"],
                ["Opened", when(incident.opened_at)],
                ["Resolved", when(end)],
                ["Duration", duration((end - incident.opened_at).total_seconds()) if end else "still open"],
            ],
        ),
        "",
        "## Summary",
        "",
        block(incident.summary) if incident.summary.strip() else "—",
        "",
        "## Timeline",
        "",
        *_table(
            ["When", "Who", "What", "Changed", "Text"],
            [
                [
                    when(event.at),
                    inline(event.actor),
                    inline(KIND_WORDS.get(event.kind, event.kind.replace(".", " "))),
                    _what_changed(event),
                    inline(event.text),
                ]
                for event in timeline(incident.pk)
            ],
        ),
        "",
        "## Alerts",
        "",
    ]
    alerts = list(incident.alerts.order_by("starts_at", "id"))
    alert_rows = [
        [
            f"#{alert.pk}",
            inline(alert.title),
            inline(alert.status),
            inline(alert.severity),
            inline(", ".join(f"{key}={value}" for key, value in alert.labels.items())) or "—",
            when(alert.starts_at),
            when(alert.acknowledged_at) + (f" by {inline(alert.acknowledged_by)}" if alert.acknowledged_by else ""),
            when(alert.resolved_at) + (f" by {inline(alert.resolved_by)}" if alert.resolved_by else ""),
        ]
        for alert in alerts
    ]
    header = ["Alert", "Title", "Status", "Severity", "Labels", "Fired", "Acknowledged", "Resolved"]
    lines += [*(_table(header, alert_rows) if alerts else ["No alerts attached."]), "", "## Evidence", ""]
    captures = incident_evidence(incident.pk)
    if not captures:
        lines.append("No evidence captured.")
    for number_, capture in enumerate(captures, start=1):
        lines += [
            f"### Evidence {number_}: {when(capture['start'])} to {when(capture['end'])}",
            "",
            f"Captured {when(capture['captured_at'])} by {inline(capture['captured_by'])}.",
            "",
            *_table(
                ["Series", "Unit", "Min", "Avg", "Max", "Last", "Points"],
                [
                    [
                        inline(series_label(series)),
                        inline(series["unit"]) or "—",
                        number(series["stats"]["min"]),
                        number(series["stats"]["avg"]),
                        number(series["stats"]["max"]),
                        number(series["stats"]["last"]),
                        f"{sparkline([point[1] for point in series['points']])} ({len(series['points'])})",
                    ]
                    for series in capture["series"]
                ],
            ),
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"
