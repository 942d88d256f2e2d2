"""What each reporting component last said, what it said before, and the console's own process events."""

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

# A name that is safe in a URL path segment, a label and a fingerprint.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"
STATUS_PATTERN = r"^[a-z][a-z0-9_-]{0,31}$"


class Component(models.Model):
    """A thing that reports its status and promises to report again within ``expect_every`` seconds."""

    name = models.CharField(max_length=100, unique=True, validators=[RegexValidator(NAME_PATTERN)])
    status = models.CharField(max_length=32, validators=[RegexValidator(STATUS_PATTERN)])
    details = models.JSONField(default=dict, blank=True)
    expect_every = models.PositiveIntegerField(help_text="Seconds within which the next report is due.")
    grace = models.PositiveIntegerField(help_text="Seconds of lateness tolerated before the report counts as missed.")
    last_check = models.DateTimeField(help_text="When it last reported.")
    missed = models.BooleanField(default=False, help_text="Its next report is overdue; an alert is raised.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["updated_at"], name="component_updated_at")]

    def __str__(self):
        return self.name


class ComponentEvent(models.Model):
    """A change of a component's state: a new status, a missed report, or a report after a miss.

    Keyed by name, not a foreign key, so a deleted component's history stays.
    Every report is not a row: a component that reports "running" every ten
    seconds has one row until something changes.
    """

    component = models.CharField(max_length=100)
    at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=32)
    missed = models.BooleanField(default=False)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["at"], name="component_event_at"),
            models.Index(fields=["component", "at"], name="component_event_component"),
        ]

    def __str__(self):
        return f"{self.component} {self.status}{' (missed)' if self.missed else ''} at {self.at:%Y-%m-%d %H:%M:%S}"


class SystemEvent(models.Model):
    """A console process (web, worker, beat) started or stopped."""

    class Event(models.TextChoices):
        STARTED = "started"
        STOPPED = "stopped"

    at = models.DateTimeField(default=timezone.now)
    event = models.CharField(max_length=10, choices=Event.choices)
    service = models.CharField(max_length=20, help_text="web, worker or beat")
    host = models.CharField(max_length=200)
    pid = models.PositiveIntegerField()
    version = models.CharField(max_length=40)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["at"], name="system_event_at")]

    def __str__(self):
        return f"{self.service} {self.event} (pid {self.pid} on {self.host})"
