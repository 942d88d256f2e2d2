"""Alerts, incidents, rules, silences and the event log that records every change.

State changes live in ``alerts.services``; these classes only say what is stored.
"""

import base64
import re
import secrets
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# What every writer of alerts (the API, the integrations) holds labels and fingerprints to.
MAX_LABELS = 64
MAX_LABEL_KEY = 100
MAX_LABEL_VALUE = 500
FINGERPRINT_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class Severity(models.TextChoices):
    # Labels in the words the pages' badges use, so forms read the same in every language.
    INFO = "info", _("info")
    WARNING = "warning", _("warning")
    CRITICAL = "critical", _("critical")


class AlertStatus(models.TextChoices):
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class IncidentStatus(models.TextChoices):
    OPEN = "open"
    INVESTIGATING = "investigating"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"


class Incident(models.Model):
    title = models.CharField(max_length=200)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    status = models.CharField(max_length=15, choices=IncidentStatus.choices, default=IncidentStatus.OPEN)
    summary = models.TextField(blank=True)
    commander = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="commanded_incidents"
    )
    opened_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # One more with every pushed change (alerts.incidents.publish_incident): a page never takes an older one.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [models.Index(fields=["status", "-opened_at"], name="incident_status_opened")]

    def __str__(self):
        return f"#{self.pk} {self.title}"


class AlertRule(models.Model):
    """A threshold on a metric; evaluated periodically (see ``alerts.rules``)."""

    class Operator(models.TextChoices):
        GT = ">"
        GE = ">="
        LT = "<"
        LE = "<="

    name = models.CharField(max_length=100, unique=True)
    metric = models.CharField(max_length=200)
    tags = models.JSONField(default=dict, blank=True, help_text='Exact-match tag matchers, e.g. {"host": "web-1"}.')
    operator = models.CharField(max_length=2, choices=Operator.choices, default=Operator.GT)
    threshold = models.FloatField()
    for_seconds = models.PositiveIntegerField(default=0)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    category = models.CharField(max_length=50, default="custom")
    title = models.CharField(max_length=200, help_text="May use {metric}, {value}, {threshold} and tag names.")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Alert(models.Model):
    fingerprint = models.CharField(max_length=64)
    source = models.CharField(max_length=100)
    category = models.CharField(max_length=50, default="custom")
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    title = models.CharField(max_length=200)
    message = models.TextField(blank=True)
    value = models.FloatField(null=True, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=15, choices=AlertStatus.choices, default=AlertStatus.FIRING)
    silenced = models.BooleanField(default=False)
    # Its fingerprint keeps changing between firing and resolved (alerts.flapping).
    flapping = models.BooleanField(default=False)
    starts_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    occurrences = models.PositiveIntegerField(default=1)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    # Actors are kept as names ("alice", "rule:High CPU"): the record must
    # outlive accounts, and rules act too.
    acknowledged_by = models.CharField(max_length=150, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=150, blank=True)
    resolution = models.TextField(blank=True)
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")
    rule = models.ForeignKey(AlertRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # One more with every change, in its transaction (save below): a page never takes an older one.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        constraints = [
            # Deduplication holds under concurrent writers: at most one
            # unresolved alert per fingerprint, enforced by the database.
            models.UniqueConstraint(
                fields=["fingerprint"], condition=~Q(status="resolved"), name="one_unresolved_alert_per_fingerprint"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "severity", "-last_seen_at"], name="alert_status_severity_seen"),
            models.Index(fields=["-last_seen_at", "-id"], name="alert_last_seen"),
            models.Index(fields=["category"], name="alert_category"),
            models.Index(fields=["source"], name="alert_source"),
            models.Index(fields=["fingerprint"], name="alert_fingerprint"),
            # The settling job reads only the few flapping rows.
            models.Index(fields=["fingerprint"], condition=Q(flapping=True), name="alert_flapping"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.title}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Every change saves the row (its updated_at too), under the row lock
        # the services take: the read-modify-write cannot race.
        if not self._state.adding:
            self.version += 1
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = [*kwargs["update_fields"], "version"]
        super().save(*args, **kwargs)


class Silence(models.Model):
    """While active, alerts whose labels match are stored but not pushed as firing.

    Active from ``starts_at`` to ``ends_at``; with a recurrence (``repeat_*``,
    see ``alerts.windows``) only during its windows within that span.
    """

    matchers = models.JSONField(help_text="Labels an alert must carry, exactly, to be silenced.")
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField()
    comment = models.TextField()
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    repeat_days = models.JSONField(
        default=list, blank=True, help_text="Recurring window: weekdays, Monday 0 to Sunday 6; empty: not recurring."
    )
    repeat_start = models.TimeField(null=True, blank=True, help_text="Recurring window: local time it opens.")
    repeat_duration = models.PositiveIntegerField(null=True, blank=True, help_text="Recurring window: seconds open.")
    timezone = models.CharField(max_length=64, default="UTC", help_text="Recurring window: its time zone's name.")

    class Meta:
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["ends_at"], name="silence_ends_at")]

    def __str__(self):
        return f"silence {self.matchers} until {self.ends_at:%Y-%m-%d %H:%M}"

    def clean(self):
        from alerts.windows import window_problems

        problems = window_problems(self.repeat_days, self.repeat_start, self.repeat_duration, self.timezone)
        if problems:
            raise ValidationError(problems)

    def is_active(self, at: datetime) -> bool:
        from alerts.windows import in_window

        if not self.starts_at <= at < self.ends_at:
            return False
        if not self.repeat_days or self.repeat_start is None or not self.repeat_duration:
            return True
        return in_window(at, self.repeat_days, self.repeat_start, self.repeat_duration, self.timezone)


class IncidentEvidence(models.Model):
    """The charts of an incident's alerts' series over a window, frozen as data (``alerts.evidence``).

    A copy, not a reference: it outlives retention, a deleted series and a
    changed rule. ``series`` is ``[{"name", "tags", "unit", "step", "stats",
    "points": [[epoch seconds, value], ...]}]``, bounded by
    ``alerts.evidence.MAX_SERIES`` and ``MAX_POINTS``.
    """

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="evidence")
    captured_by = models.CharField(max_length=150)
    captured_at = models.DateTimeField(default=timezone.now)
    start = models.DateTimeField()
    end = models.DateTimeField()
    series = models.JSONField(default=list)

    class Meta:
        verbose_name_plural = "incident evidence"
        ordering = ["captured_at", "id"]
        indexes = [models.Index(fields=["incident", "captured_at"], name="evidence_incident_captured")]

    def __str__(self):
        return f"evidence {self.pk} of incident {self.incident_id}"


class EventKind(models.TextChoices):
    ALERT_FIRED = "alert.fired"
    ALERT_UPDATED = "alert.updated"
    ALERT_ACKNOWLEDGED = "alert.acknowledged"
    ALERT_UNACKNOWLEDGED = "alert.unacknowledged"
    ALERT_RESOLVED = "alert.resolved"
    ALERT_EDITED = "alert.edited"
    ALERT_DELETED = "alert.deleted"
    ALERT_SILENCED = "alert.silenced"
    ALERT_UNSILENCED = "alert.unsilenced"
    ALERT_FLAPPING = "alert.flapping"
    ALERT_SETTLED = "alert.settled"
    INCIDENT_OPENED = "incident.opened"
    INCIDENT_UPDATED = "incident.updated"
    INCIDENT_STATUS_CHANGED = "incident.status_changed"
    INCIDENT_NOTE = "incident.note"
    INCIDENT_ALERT_ATTACHED = "incident.alert_attached"
    INCIDENT_CHECKLIST_STARTED = "incident.checklist_started"
    INCIDENT_STEP_TICKED = "incident.step_ticked"
    INCIDENT_EVIDENCE_CAPTURED = "incident.evidence_captured"
    # Written by the on-call escalation engine (oncall.escalation).
    ESCALATION_STEP = "escalation.step"
    ESCALATION_PAGE = "escalation.page"
    ESCALATION_STOPPED = "escalation.stopped"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("The event log is append-only.")

    def delete(self):
        raise TypeError("The event log is append-only.")


class AlertEvent(models.Model):
    """One line of the append-only log: what changed, when, by whom.

    It feeds incident timelines and lets a reconnecting client be told what it
    missed. Rows are never updated or deleted; alert and incident ids are kept
    without a foreign-key constraint so a deleted alert's history stays whole.
    """

    kind = models.CharField(max_length=30, choices=EventKind.choices)
    at = models.DateTimeField(default=timezone.now)
    actor = models.CharField(max_length=150)
    text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    alert = models.ForeignKey(
        Alert, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="events"
    )
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="events"
    )

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["incident", "at"], name="event_incident_at"),
            models.Index(fields=["alert", "at"], name="event_alert_at"),
            models.Index(fields=["at"], name="event_at"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind} by {self.actor}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("The event log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The event log is append-only.")


class ConfigChange(models.Model):
    """One line of the append-only configuration audit: a rule, silence or channel created, changed or deleted.

    Written by ``alerts.config_audit.record_config_change`` only. ``before``
    and ``after`` are the object's fields (secrets redacted); the object is
    named by its model label and id, without a foreign key, so a deleted
    object's history stays whole.
    """

    class Action(models.TextChoices):
        CREATED = "created"
        CHANGED = "changed"
        DELETED = "deleted"

    at = models.DateTimeField(default=timezone.now)
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=10, choices=Action.choices)
    object_type = models.CharField(max_length=100, help_text='The model\'s label, e.g. "alerts.alertrule".')
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["at"], name="config_change_at"),
            models.Index(fields=["object_type", "object_id", "at"], name="config_change_object"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.object_type} {self.object_id} {self.action} by {self.actor}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("The configuration audit is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The configuration audit is append-only.")


class RuleState(models.Model):
    """Where one rule stands on one series: since when its condition has held.

    Kept between evaluations so ``for_seconds`` can be honoured across cycles
    and processes.
    """

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="states")
    series = models.ForeignKey("metrics.Series", on_delete=models.CASCADE, related_name="+")
    pending_since = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "series"], name="one_state_per_rule_and_series")]

    def __str__(self):
        return f"{self.rule_id} on {self.series_id} since {self.pending_since:%Y-%m-%d %H:%M:%S}"


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class NotificationChannel(models.Model):
    """Where alert changes are sent: a webhook, e-mail or any Apprise URL, routed by severity and category.

    What a valid channel is lives in ``alerts.notifications.targets`` (``clean``).
    """

    class Kind(models.TextChoices):
        WEBHOOK = "webhook"
        EMAIL = "email"
        APPRISE = "apprise"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    url = models.CharField(
        max_length=2000, blank=True, help_text="Webhook: where the JSON is POSTed. Apprise: the Apprise URL."
    )
    secret = models.CharField(
        max_length=200, blank=True, help_text="Webhook: the Standard Webhooks signing secret (made on creation)."
    )
    emails = models.TextField(blank=True, help_text="E-mail: addresses, one per line or comma-separated.")
    severities = models.JSONField(default=list, blank=True, help_text="Only these severities; empty: all.")
    categories = models.JSONField(default=list, blank=True, help_text="Only these categories; empty: all.")
    send_resolved = models.BooleanField(
        default=True, help_text="Tell this channel when an alert it was paged for ends."
    )
    repeat_interval = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seconds: page again while an alert fires unacknowledged; empty: never."
    )
    enabled = models.BooleanField(default=True)
    # A person's contact method (oncall.ContactMethod): paged only by escalation, never routed to.
    personal = models.BooleanField(default=False, editable=False)

    def __str__(self):
        return f"{self.name} ({self.kind})"

    def save(self, *args, **kwargs):
        if self.kind == self.Kind.WEBHOOK and not self.secret:
            self.secret = new_webhook_secret()
        super().save(*args, **kwargs)

    def clean(self):
        from alerts.notifications.targets import channel_problems

        problems = channel_problems(self.kind, self.url, self.emails)
        if problems:
            raise ValidationError(problems)

    def routes(self, severity, category):
        return (not self.severities or severity in self.severities) and (
            not self.categories or category in self.categories
        )

    def recipients(self):
        return [address.strip() for address in self.emails.replace(",", "\n").splitlines() if address.strip()]


class Delivery(models.Model):
    """One notification to one channel, and how sending it went.

    ``alert_id`` (no foreign key: the log outlives a deleted alert) orders an
    alert's notifications per channel; ``claimed_until`` is the lease of the
    sender that took it.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"

    channel = models.ForeignKey(NotificationChannel, on_delete=models.CASCADE, related_name="deliveries")
    alert_id = models.BigIntegerField(null=True, blank=True)
    event = models.CharField(max_length=30)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["channel", "alert_id", "id"], name="delivery_channel_alert"),
            models.Index(fields=["alert_id", "event"], name="delivery_alert_event"),  # who was paged for an alert
        ]

    def __str__(self):
        return f"{self.event} to {self.channel_id}: {self.status}"
