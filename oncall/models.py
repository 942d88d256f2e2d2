"""On call: schedules of who answers pages, how each person is reached, and how an alert escalates.

What the rules mean lives in ``oncall.shifts`` (who is on call when),
``oncall.contacts`` (contact methods, personal rules) and
``oncall.escalation`` (policies and the engine); these classes only say what
is stored.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from alerts.models import Alert, Delivery, NotificationChannel, Severity


class Schedule(models.Model):
    """Who is on call, in layers; hand-offs happen at wall-clock times in ``time_zone``."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", help_text="Hand-offs are at this zone's local time.")
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Layer(models.Model):
    """One rotation: its users take turns, a shift each, from ``starts_on`` at ``handoff_time``.

    Layers stack: where a higher ``level`` has someone on call, it wins.
    """

    class Rotation(models.TextChoices):
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly")
        CUSTOM = "custom", _("Custom length")

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="layers")
    name = models.CharField(max_length=100)
    level = models.PositiveIntegerField(default=0, help_text="Higher levels win where they have someone.")
    rotation = models.CharField(max_length=10, choices=Rotation.choices, default=Rotation.WEEKLY)
    shift_days = models.PositiveIntegerField(default=7, help_text="Custom rotation: days per shift.")
    starts_on = models.DateField(help_text="The first shift's day, in the schedule's time zone.")
    handoff_time = models.TimeField(help_text="Local time of day each shift begins.")
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, through="LayerMember", related_name="+")

    class Meta:
        ordering = ["schedule", "-level", "id"]

    def __str__(self):
        return f"{self.schedule}: {self.name}"

    @property
    def length_days(self) -> int:
        return {self.Rotation.DAILY: 1, self.Rotation.WEEKLY: 7}.get(self.rotation, self.shift_days)  # type: ignore[call-overload]


class LayerMember(models.Model):
    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["layer", "position"]
        constraints = [models.UniqueConstraint(fields=["layer", "position"], name="one_member_per_layer_position")]

    def __str__(self):
        return f"{self.user_id} at {self.position} in {self.layer_id}"


class Override(models.Model):
    """ "I take Friday night for Ana": ``user`` is on call from ``starts_at`` to ``ends_at``, over every layer."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["schedule", "ends_at"], name="override_schedule_ends")]

    def __str__(self):
        return f"{self.user} from {self.starts_at:%Y-%m-%d %H:%M}"


class CalendarFeed(models.Model):
    """An iCal feed of a schedule's or a person's shifts, read with the secret key in its URL.

    Calendar apps send no headers, so the key is the credential; only its
    prefix (to find the row) and its hash are kept, as for API tokens.
    """

    schedule = models.ForeignKey(Schedule, null=True, blank=True, on_delete=models.CASCADE, related_name="feeds")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(schedule__isnull=True, user__isnull=False) | Q(schedule__isnull=False, user__isnull=True),
                name="feed_of_a_schedule_or_a_user",
            )
        ]

    def __str__(self):
        return f"feed {self.prefix}"


class ContactMethod(models.Model):
    """One way to reach a person: a personal notification channel, so pages go through the one sender.

    The channel is ``personal`` (no routing of its own, hidden from the
    channels list); what it sends to (kind, URL, addresses) is the channel's.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_methods")
    label = models.CharField(max_length=60, help_text='What the person calls it: "Telegram", "work e-mail".')
    channel = models.OneToOneField(NotificationChannel, on_delete=models.CASCADE, related_name="contact_method")

    class Meta:
        ordering = ["user", "label"]
        constraints = [models.UniqueConstraint(fields=["user", "label"], name="one_contact_label_per_user")]

    def __str__(self):
        return f"{self.user} by {self.label}"


class NotificationRule(models.Model):
    """ "critical: immediately by Telegram, again by e-mail after 5 min": one line of a person's rules."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_rules")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    contact_method = models.ForeignKey(ContactMethod, on_delete=models.CASCADE, related_name="rules")
    delay_minutes = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["user", "severity", "delay_minutes", "id"]

    def __str__(self):
        return f"{self.severity}: {self.contact_method} after {self.delay_minutes} min"


class EscalationPolicy(models.Model):
    """Who is paged for an alert, in which order: chosen by label matchers and severity, first by position."""

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveIntegerField(default=0, help_text="Lower is tried first.")
    matchers = models.JSONField(default=dict, blank=True, help_text="Labels an alert must carry, exactly.")
    severities = models.JSONField(default=list, blank=True, help_text="Only these severities; empty: all.")
    is_default = models.BooleanField(default=False, help_text="Used when no other policy matches.")
    repeat = models.PositiveIntegerField(default=0, help_text="Times to run the steps again after the last.")
    unacknowledge_after = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Minutes after which an acknowledged alert still not resolved fires again; empty: never.",
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name_plural = "escalation policies"
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_policy")
        ]

    def __str__(self):
        return self.name

    def matches(self, labels: dict, severity: str) -> bool:
        return (not self.severities or severity in self.severities) and all(
            labels.get(key) == value for key, value in self.matchers.items()
        )


class EscalationStep(models.Model):
    """Notify someone, then wait ``wait_minutes`` for an acknowledgement before the next step."""

    class Target(models.TextChoices):
        SCHEDULE = "schedule"  # whoever is on call when the step runs
        USERS = "users"
        CHANNEL = "channel"

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    target = models.CharField(max_length=10, choices=Target.choices)
    schedule = models.ForeignKey(Schedule, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    channel = models.ForeignKey(NotificationChannel, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    wait_minutes = models.PositiveIntegerField(default=5)

    class Meta:
        ordering = ["policy", "position"]
        constraints = [models.UniqueConstraint(fields=["policy", "position"], name="one_step_per_policy_position")]

    def __str__(self):
        return f"step {self.position + 1}: {self.target}"


class Escalation(models.Model):
    """Where one alert's escalation stands: the step due next and when.

    The engine claims due rows (``next_at``) under a row lock and advances
    them in the same transaction as the pages it queues, so a pass killed
    halfway leaves the row as it was and the next pass takes the same step.
    """

    class State(models.TextChoices):
        ACTIVE = "active"
        # Acknowledged under a policy whose acknowledgements expire: at ``next_at`` the alert fires again.
        ACKNOWLEDGED = "acknowledged"
        DONE = "done"  # acknowledged (for good), resolved, deleted, or every step and repeat taken

    alert = models.OneToOneField(Alert, on_delete=models.CASCADE, related_name="escalation")
    policy = models.ForeignKey(EscalationPolicy, null=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=15, choices=State.choices, default=State.ACTIVE)
    step = models.PositiveIntegerField(default=0, help_text="Index of the step taken next.")
    round = models.PositiveIntegerField(default=0, help_text="How many times the steps have been run through.")
    next_at = models.DateTimeField(default=timezone.now)
    last_waited_minutes = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["state", "next_at"], name="escalation_due")]

    def __str__(self):
        return f"alert {self.alert_id}: {self.state}, step {self.step + 1}"


class Page(models.Model):
    """One page of one person (or channel) for an escalation: queued as a delivery when due.

    ``due_at`` is later than the step for a personal rule's delay; a page
    still due when the alert is acknowledged or resolved is never sent.
    ``reported`` says its outcome is on the alert's timeline.
    """

    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="pages")
    alert_id = models.BigIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.ForeignKey(NotificationChannel, on_delete=models.CASCADE, related_name="+")
    step = models.PositiveIntegerField()
    round = models.PositiveIntegerField()
    due_at = models.DateTimeField()
    delivery = models.OneToOneField(Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="page")
    cancelled = models.BooleanField(default=False)
    reported = models.BooleanField(default=False)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["due_at"], condition=Q(delivery__isnull=True, cancelled=False), name="page_due"),
            models.Index(fields=["id"], condition=Q(reported=False, delivery__isnull=False), name="page_unreported"),
        ]

    def __str__(self):
        return f"page {self.pk} of alert {self.alert_id}"
