"""The on-call pages (now, next, a calendar; rotations; the policy editor) and the iCal feed.

Pages are server-rendered forms with no script: they validate through the
same serializers as the API, so a page and a REST call refuse the same things.
"""

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import staff_required
from alerts.models import NotificationChannel, Severity
from oncall.api.escalation import PolicySerializer
from oncall.api.schedules import LayerSerializer, ScheduleSerializer
from oncall.feeds import feed_for_key, ical
from oncall.forms import BLANK_STEP_ROWS, MEMBER_ROWS, flat_errors, policy_body
from oncall.models import EscalationPolicy, Layer, Schedule
from oncall.schedules import calendar, now_and_next, with_layers

CALENDAR_DAYS = 28
# Offered in the time-zone field's list; any zoneinfo name may be typed.
COMMON_ZONES = [
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "Europe/Paris",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Shanghai",
    "Asia/Tokyo",
]


def feed(request, key):
    """A calendar app's fetch: the key in the URL is the only credential (see ``oncall.feeds``)."""
    found = feed_for_key(key)
    if found is None:
        raise Http404("No such feed.")
    response = HttpResponse(ical(found), content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response


def _day_grid(schedules: list[Schedule], start: datetime) -> list[dict]:
    """Per day (UTC) of the next weeks: who is on call in each schedule at some time that day."""
    shifts = calendar(schedules, start, start + timedelta(days=CALENDAR_DAYS))
    days = []
    for offset in range(CALENDAR_DAYS):
        begins = start + timedelta(days=offset)
        ends = begins + timedelta(days=1)
        cells = []
        for schedule in schedules:
            names = []
            for shift in shifts:
                overlaps = shift["schedule"] == schedule.pk and shift["start"] < ends and shift["end"] > begins
                if overlaps and shift["username"] not in names:
                    names.append(shift["username"])
            cells.append(names)
        days.append({"day": begins, "cells": cells})
    return days


@staff_required
def oncall_page(request):
    now = timezone.now()
    schedules = list(with_layers(Schedule.objects.order_by("name")))
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    context = {
        "rows": now_and_next(now),
        "schedules": schedules,
        "days": _day_grid(schedules, midnight),
        "policies": EscalationPolicy.objects.order_by("position", "id"),
    }
    return render(request, "oncall/oncall.html", context)


def _choices():
    return {
        "users": get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username"),
        "schedules": Schedule.objects.order_by("name"),
        "channels": NotificationChannel.objects.filter(personal=False).order_by("name"),
        "severities": Severity.choices,
        "targets": [
            ("users", _("specific people")),
            ("schedule", _("a schedule's on-call")),
            ("channel", _("a channel")),
        ],
    }


def _policy_rows(policy: EscalationPolicy | None, posted: dict | None) -> list[dict]:
    if posted is not None:
        steps = posted["steps"]
    elif policy is not None:
        steps = PolicySerializer(policy).data["steps"]
    else:
        steps = []
    rows = [
        {
            "target": step.get("target", ""),
            "schedule": str(step.get("schedule") or ""),
            "users": [str(user) for user in step.get("users") or []],
            "channel": str(step.get("channel") or ""),
            "wait": step.get("wait_minutes", 5),
        }
        for step in steps
    ]
    return rows + [{"target": "", "schedule": "", "users": [], "channel": "", "wait": 5}] * BLANK_STEP_ROWS


@staff_required
def policy_edit(request, policy_id=None):
    policy = get_object_or_404(EscalationPolicy, pk=policy_id) if policy_id is not None else None
    errors: dict[str, str] = {}
    posted = None
    if request.method == "POST":
        body, errors = policy_body(request.POST)
        posted = body
        serializer = PolicySerializer(policy, data=body)
        if serializer.is_valid() and not errors:
            serializer.save()
            return redirect("oncall-policies")
        errors.update(flat_errors(serializer.errors) if not serializer.is_valid() else {})
    values = posted or (
        PolicySerializer(policy).data if policy is not None else {"enabled": True, "repeat": 0, "position": 0}
    )
    matchers = values.get("matchers") or {}
    context = {
        "policy": policy,
        "values": values,
        "matchers_text": ", ".join(f"{key}={value}" for key, value in matchers.items()),
        "rows": _policy_rows(policy, posted),
        "errors": errors,
        **_choices(),
    }
    return render(request, "oncall/policy_edit.html", context, status=400 if errors else 200)


@staff_required
def policy_list(request):
    policies = EscalationPolicy.objects.prefetch_related("steps").order_by("position", "id")
    return render(request, "oncall/policy_list.html", {"policies": policies})


@staff_required
def schedule_edit(request):
    """A new schedule with its first rotation: the few fields most teams need (more layers: the API, the admin)."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"time_zone": "UTC", "rotation": "weekly", "shift_days": 7, "handoff_time": "09:00"}
    members: list[str] = []
    if request.method == "POST":
        post = request.POST
        values = {
            key: post.get(key, "")
            for key in ("name", "time_zone", "rotation", "shift_days", "starts_on", "handoff_time")
        }
        members = [post.get(f"member-{index}", "") for index in range(MEMBER_ROWS)]
        members = [member for member in members if member]
        schedule_body = ScheduleSerializer(data={"name": values["name"], "time_zone": values["time_zone"]})
        if schedule_body.is_valid():
            layer_data = {
                "name": _("Rotation"),
                "rotation": values["rotation"],
                "shift_days": values["shift_days"] or 7,
                "starts_on": values["starts_on"],
                "handoff_time": values["handoff_time"],
                "users": members,
            }
            layer_body = LayerSerializer(data=layer_data)
            layer_body.fields["schedule"].required = False
            if layer_body.is_valid():
                with transaction.atomic():
                    layer_body.save(schedule=schedule_body.save())
                return redirect("oncall")
            errors.update(flat_errors(layer_body.errors))
        else:
            errors.update(flat_errors(schedule_body.errors))
    context = {
        "values": values,
        "errors": errors,
        "member_rows": members + [""] * (MEMBER_ROWS - len(members)),
        "rotations": Layer.Rotation.choices,
        "users": get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username"),
        "zones": COMMON_ZONES,
    }
    return render(request, "oncall/schedule_edit.html", context, status=400 if errors else 200)
