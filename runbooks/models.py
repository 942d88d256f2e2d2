"""Runbooks (预案): what to do about an alert, and the checklists incidents run from them."""

from django.db import models
from django.utils import timezone


class Runbook(models.Model):
    """A Markdown procedure for the alerts whose labels contain all of its ``matchers``.

    A runbook without matchers applies to no alert: it is reached from the
    list or run on an incident by hand, never attached to every alert.
    """

    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, help_text="Markdown; numbered steps at the top level become a checklist.")
    matchers = models.JSONField(
        default=dict, blank=True, help_text="Labels; applies to every alert whose labels contain all of them."
    )
    category = models.CharField(max_length=50, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["title", "id"]

    def __str__(self):
        return self.title


class Checklist(models.Model):
    """A runbook run on an incident: its numbered steps, copied when it started.

    The steps are copied so that editing the runbook later does not rewrite
    what was ticked during the incident.
    """

    incident = models.ForeignKey("alerts.Incident", on_delete=models.CASCADE, related_name="checklists")
    runbook = models.ForeignKey(Runbook, null=True, on_delete=models.SET_NULL, related_name="checklists")
    title = models.CharField(max_length=200)
    started_by = models.CharField(max_length=150)
    started_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "runbook"], name="checklist_one_per_runbook"),
        ]

    def __str__(self):
        return f"{self.title} on incident #{self.incident_id}"


class ChecklistStep(models.Model):
    checklist = models.ForeignKey(Checklist, on_delete=models.CASCADE, related_name="steps")
    number = models.PositiveIntegerField(help_text="1 for the first step.")
    text = models.TextField()
    ticked_at = models.DateTimeField(null=True, blank=True)
    ticked_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["checklist", "number"]
        constraints = [models.UniqueConstraint(fields=["checklist", "number"], name="checklist_step_number")]

    def __str__(self):
        return f"{self.number}. {self.text[:60]}"
