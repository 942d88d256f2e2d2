"""Escalation: which policy an alert follows, and the engine that pages step by step until someone answers.

An alert that fires gets an :class:`Escalation` in its own transaction
(:func:`on_alert_changed`). The periodic pass (:func:`run_escalations`)
takes each due one, pages the step's people through their personal rules
(a :class:`Page` per contact method, queued as an ``alert.fired`` delivery
when due), and sets when the next step is due. An acknowledgement or
resolution ends the escalation in *its* transaction, under the alert's row
lock, and cancels every page not yet handed to the sender; the engine takes
that same lock before it pages, so nothing is paged after the alert was
answered. Resolutions reach every contact method paged because the pages are
``alert.fired`` deliveries: the notification queue tells whoever was paged.
Under a policy with ``unacknowledge_after`` an acknowledgement leaves the
escalation waiting instead; when it expires unresolved, the pass makes the
alert fire again (``alerts.services.unacknowledge``) and starts at step 1.

Locks are always taken alert first, then escalation, then pages, by the
engine and by the services alike, so the two never deadlock; two engines
skip each other's locked alerts, so nobody is paged twice.
"""

import json
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from alerts.models import Alert, AlertEvent, AlertStatus, Delivery, EventKind, NotificationChannel
from alerts.payloads import alert_data
from alerts.services import unacknowledge
from oncall.bulk_insert import copy_rows
from oncall.contacts import rules_for
from oncall.models import ContactMethod, Escalation, EscalationPolicy, EscalationStep, NotificationRule, Page, Schedule
from oncall.schedules import on_call_at, with_layers

ACTOR = "escalation"
BATCH = 500
SILENCED_RETRY = timedelta(minutes=1)
OUTCOME_WORDS: dict[str, str] = {Delivery.Status.SENT: "delivered", Delivery.Status.FAILED: "failed"}


def choose_policy(labels: dict[str, str], severity: str) -> EscalationPolicy | None:
    """The first enabled policy by position whose matchers and severities fit; else the default policy."""
    policies = list(EscalationPolicy.objects.filter(enabled=True).order_by("position", "id"))
    matching = (p for p in policies if not p.is_default and p.matches(labels, severity))
    return next(matching, None) or next((p for p in policies if p.is_default), None)


def _event(
    alert_id: int, incident_id: int | None, kind: str, text: str, data: dict[str, Any], at: datetime
) -> dict[str, Any]:
    """A timeline line as a row for ``copy_rows`` (``data`` as JSON text)."""
    return {
        "kind": kind,
        "alert_id": alert_id,
        "incident_id": incident_id,
        "actor": ACTOR,
        "text": text,
        "data": json.dumps(data),
        "at": at,
    }


def _save_events(events: list[dict[str, Any]]) -> None:
    copy_rows(AlertEvent, events, json_fields=("data",))


def on_alert_changed(sender: Any, alert: Alert, kind: str, **_: Any) -> None:
    """``alerts.services.alert_changed``: start on firing, stop on acknowledgement, resolution or deletion.

    An acknowledgement under a policy with ``unacknowledge_after`` leaves the
    escalation waiting for it to expire; its expiry starts over from step 1.
    Runs inside the change's transaction, the alert's row locked.
    """
    if kind == EventKind.ALERT_FIRED:
        policy = choose_policy(alert.labels, alert.severity)
        if policy is not None:
            Escalation.objects.create(alert=alert, policy=policy, next_at=timezone.now())
    elif kind == EventKind.ALERT_ACKNOWLEDGED:
        stop(alert, "acknowledged")
        _await_expiry(alert)
    elif kind == EventKind.ALERT_UNACKNOWLEDGED:
        Escalation.objects.filter(alert_id=alert.pk).update(
            state=Escalation.State.ACTIVE, step=0, round=0, next_at=timezone.now(), last_waited_minutes=0
        )
    elif kind in (EventKind.ALERT_RESOLVED, EventKind.ALERT_DELETED):
        stop(alert, "resolved")


def _await_expiry(alert: Alert) -> None:
    """When the alert's policy lets acknowledgements expire, note when this one does, on the escalation."""
    escalation = Escalation.objects.filter(alert_id=alert.pk).select_related("policy").first()
    minutes = escalation.policy.unacknowledge_after if escalation and escalation.policy else None
    if escalation is None or not minutes or alert.acknowledged_at is None:
        return
    escalation.state = Escalation.State.ACKNOWLEDGED
    escalation.next_at = alert.acknowledged_at + timedelta(minutes=minutes)
    escalation.save(update_fields=["state", "next_at"])


def stop(alert: Alert, why: str) -> bool:
    """End the alert's escalation and cancel its unsent pages; whether there was one to end."""
    stopped = Escalation.objects.filter(alert_id=alert.pk, state=Escalation.State.ACTIVE).update(
        state=Escalation.State.DONE
    )
    # An acknowledgement waiting to expire ends too: a resolved alert never fires again.
    Escalation.objects.filter(alert_id=alert.pk, state=Escalation.State.ACKNOWLEDGED).update(
        state=Escalation.State.DONE
    )
    Page.objects.filter(alert_id=alert.pk, delivery__isnull=True, cancelled=False).update(cancelled=True)
    # Queued but not yet taken by a sender: it must not go out after the answer.
    Delivery.objects.filter(page__alert_id=alert.pk, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.FAILED, last_error=f"Not sent: the alert was {why} first."
    )
    if stopped and why != "deleted":
        AlertEvent.objects.create(
            kind=EventKind.ESCALATION_STOPPED,
            alert_id=alert.pk,
            incident_id=alert.incident_id,
            actor=ACTOR,
            text=f"escalation stopped: {why}",
        )
    return bool(stopped)


class _Pass:
    """What one engine pass reads once and shares between its escalations: policies, schedules, rules."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        steps = EscalationStep.objects.select_related("channel").prefetch_related("users").order_by("position")
        self.policies = {
            policy.pk: policy
            for policy in EscalationPolicy.objects.prefetch_related(Prefetch("steps", steps, to_attr="ordered_steps"))
        }
        self.schedules = {schedule.pk: schedule for schedule in with_layers(Schedule.objects.all())}
        self.on_call: dict[int, int | None] = {}
        self.rules = list(NotificationRule.objects.select_related("contact_method__channel"))
        self.methods: dict[int, list[ContactMethod]] = {}
        for method in ContactMethod.objects.select_related("channel").order_by("id"):
            self.methods.setdefault(method.user_id, []).append(method)
        # Everyone a page could name: staff are few, and one query beats one per step.
        self.names = dict(get_user_model().objects.filter(is_staff=True).values_list("pk", "username"))

    def who_is_on_call(self, schedule_id: int) -> int | None:
        if schedule_id not in self.on_call:
            schedule = self.schedules.get(schedule_id)
            self.on_call[schedule_id] = None if schedule is None else on_call_at(schedule, self.now)
        return self.on_call[schedule_id]

    def contacts(self, user_id: int, severity: str) -> list[tuple[NotificationChannel, int, str]]:
        """(channel, delay minutes, label) per the user's rules; every method at once when they have none."""
        rules = rules_for(user_id, severity, self.rules)
        if rules:
            return [(r.contact_method.channel, r.delay_minutes, r.contact_method.label) for r in rules]
        return [(m.channel, 0, m.label) for m in self.methods.get(user_id, [])]


def _step_targets(step: EscalationStep, work: _Pass) -> tuple[list[int], NotificationChannel | None, str]:
    """The users (or channel) a step pages now, and a note when it has nobody."""
    if step.target == EscalationStep.Target.CHANNEL:
        return [], step.channel, ""
    if step.target == EscalationStep.Target.SCHEDULE:
        if step.schedule_id is None:
            return [], None, "the step has no schedule"
        user = work.who_is_on_call(step.schedule_id)
        schedule = work.schedules.get(step.schedule_id)
        name = schedule.name if schedule is not None else str(step.schedule_id)
        return ([user], None, "") if user is not None else ([], None, f"nobody is on call in {name}")
    return [user.pk for user in step.users.all()], None, ""


def _take_step(escalation: Escalation, alert: Alert, work: _Pass, out: dict[str, list[Any]]) -> None:
    policy = work.policies.get(escalation.policy_id or 0)
    steps: list[EscalationStep] = getattr(policy, "ordered_steps", [])
    now = work.now
    if policy is None or not steps:
        escalation.state = Escalation.State.DONE
        out["events"].append(
            _event(
                alert.pk,
                alert.incident_id,
                EventKind.ESCALATION_STOPPED,
                "escalation ended: the policy has no steps",
                {},
                now,
            )
        )
        return
    if escalation.step >= len(steps):
        if escalation.round >= policy.repeat:
            escalation.state = Escalation.State.DONE
            text = f"no acknowledgement after {escalation.last_waited_minutes} min — every step taken, escalation ended"
            out["events"].append(_event(alert.pk, alert.incident_id, EventKind.ESCALATION_STOPPED, text, {}, now))
            return
        escalation.round, escalation.step = escalation.round + 1, 0
    step = steps[escalation.step]
    users, channel, note = _step_targets(step, work)
    whom_set: set[str] = set()
    targets: list[tuple[int | None, NotificationChannel, int]] = []
    for user_id in users:
        contacts = work.contacts(user_id, alert.severity)
        targets += [(user_id, contact, delay) for contact, delay, _label in contacts]
        whom_set.update(work.names.get(user_id, "") or label for _contact, _delay, label in contacts)
        if not contacts:
            note = f"{work.names.get(user_id, user_id)} has no contact method"
    if channel is not None:
        targets.append((None, channel, 0))
        whom_set.add(channel.name)
    out["pages"] += [
        {
            "escalation_id": escalation.pk,
            "alert_id": alert.pk,
            "user_id": user_id,
            "channel_id": contact.pk,
            "step": escalation.step,
            "round": escalation.round,
            "due_at": now + timedelta(minutes=delay),
            "delivery_id": None,
        }
        for user_id, contact, delay in targets
    ]
    whom = ", ".join(sorted(whom_set)) or "nobody"
    if escalation.step == 0 and escalation.round == 0:
        text = f"escalating by {policy.name}: paging {whom}"
    else:
        text = f"no acknowledgement after {escalation.last_waited_minutes} min — paging {whom}"
        if escalation.step == 0:
            text += f" (repeat {escalation.round} of {policy.repeat})"
    if note:
        text += f" ({note})"
    data = {"policy": policy.name, "step": escalation.step + 1, "round": escalation.round, "users": users}
    out["events"].append(_event(alert.pk, alert.incident_id, EventKind.ESCALATION_STEP, text, data, now))
    escalation.last_waited_minutes = step.wait_minutes
    escalation.step += 1
    escalation.next_at = now + timedelta(minutes=step.wait_minutes)


def _save_positions(escalations: list[Escalation]) -> None:
    """Save where each escalation now stands: one UPDATE per distinct position, not a CASE per row.

    A pass moves many alerts to the same place (the same step, due at the
    same moment), so the groups are few however many alerts there are.
    """
    groups: dict[tuple[Any, ...], list[int]] = {}
    for e in escalations:
        groups.setdefault((e.state, e.step, e.round, e.next_at, e.last_waited_minutes), []).append(e.pk)
    for (state, step, round_, next_at, waited), ids in groups.items():
        Escalation.objects.filter(pk__in=ids).update(
            state=state, step=step, round=round_, next_at=next_at, last_waited_minutes=waited
        )


def _lock_firing(alert_ids: list[int]) -> dict[int, Alert]:
    # skip_locked: an alert being changed right now (or held by another engine) waits for the next pass.
    locked = Alert.objects.select_for_update(skip_locked=True).filter(pk__in=alert_ids).order_by("pk")
    return {alert.pk: alert for alert in locked}


def _advance_batch(ids: list[tuple[int, int]], work: _Pass, counts: Counter[str]) -> None:
    out: dict[str, list[Any]] = {"events": [], "pages": []}
    with transaction.atomic():
        alerts = _lock_firing([alert_id for _, alert_id in ids])
        due = list(
            Escalation.objects.select_for_update(of=("self",))
            .filter(
                pk__in=[pk for pk, alert_id in ids if alert_id in alerts],
                state=Escalation.State.ACTIVE,
                next_at__lte=work.now,
            )
            .order_by("pk")
        )
        for escalation in due:
            alert = alerts[escalation.alert_id]
            if alert.status != AlertStatus.FIRING:  # answered before this pass; the service already stopped it
                escalation.state = Escalation.State.DONE
            elif alert.silenced:
                escalation.next_at = work.now + SILENCED_RETRY
            else:
                _take_step(escalation, alert, work, out)
                counts["steps"] += 1
        _save_positions(due)
        _save_events(out["events"])
        now_pages = [page for page in out["pages"] if page["due_at"] <= work.now]
        for page, delivery_id in zip(now_pages, _queue(now_pages, alerts), strict=True):
            page["delivery_id"] = delivery_id
        counts["pages"] += len(now_pages)
        copy_rows(Page, [page for page in out["pages"] if page["due_at"] > work.now] + now_pages)


def _fired_payload(alert_json: str, step: int, round_: int) -> str:
    """A page's ``alert.fired`` payload as JSON text: the alert is serialized once, not once per page."""
    escalation = json.dumps({"step": step + 1, "round": round_})
    return f'{{"event": "alert.fired", "alert": {alert_json}, "escalation": {escalation}}}'


def _queue(pages: list[dict[str, Any]], alerts: dict[int, Alert]) -> list[int]:
    """Queue each page (``alert_id``, ``channel_id``, ``step``, ``round``) as an ``alert.fired`` delivery; their ids."""
    alert_json: dict[int, str] = {}
    rows = []
    for page in pages:
        alert_id = page["alert_id"]
        if alert_id not in alert_json:
            alert_json[alert_id] = json.dumps(alert_data(alerts[alert_id]))
        payload = _fired_payload(alert_json[alert_id], page["step"], page["round"])
        rows.append(
            {"channel_id": page["channel_id"], "alert_id": alert_id, "event": "alert.fired", "payload": payload}
        )
    return copy_rows(Delivery, rows, json_fields=("payload",))


def _send_delayed(now: datetime, counts: Counter[str]) -> None:
    """Pages whose personal-rule delay has passed: queued now if their alert still fires, else cancelled."""
    due = list(
        Page.objects.filter(delivery__isnull=True, cancelled=False, due_at__lte=now)
        .order_by("due_at", "id")
        .values_list("pk", "alert_id")[:BATCH]
    )
    if not due:
        return
    with transaction.atomic():
        alerts = _lock_firing(sorted({alert_id for _, alert_id in due}))
        pages = list(
            Page.objects.select_for_update(of=("self",)).filter(
                pk__in=[pk for pk, alert_id in due if alert_id in alerts], delivery__isnull=True, cancelled=False
            )
        )
        firing = [page for page in pages if alerts[page.alert_id].status == AlertStatus.FIRING]
        Page.objects.filter(pk__in=[page.pk for page in pages if page not in firing]).update(cancelled=True)
        rows = [{"alert_id": p.alert_id, "channel_id": p.channel_id, "step": p.step, "round": p.round} for p in firing]
        for page, delivery_id in zip(firing, _queue(rows, alerts), strict=True):
            page.delivery_id = delivery_id
        Page.objects.bulk_update(firing, ["delivery"])
        counts["pages"] += len(firing)


def _report_outcomes(counts: Counter[str]) -> None:
    """Put each page whose delivery has ended on its alert's timeline, once: "paged Ana by Telegram — delivered"."""
    with transaction.atomic():
        pages = list(
            Page.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(reported=False, delivery__status__in=list(OUTCOME_WORDS))
            .select_related("delivery", "user", "channel__contact_method")
            .order_by("id")[:BATCH]
        )
        if not pages:
            return
        incidents = dict(Alert.objects.filter(pk__in={p.alert_id for p in pages}).values_list("pk", "incident_id"))
        events = []
        for page in pages:
            delivery = page.delivery
            if delivery is None:  # the filter asked for one; this only tells the type checker
                continue
            method = getattr(page.channel, "contact_method", None)
            if page.user is not None:
                whom = f"{page.user.get_username()} by {method.label if method else page.channel.name}"
            else:
                whom = f"channel {page.channel.name}"
            text = f"paged {whom} — {OUTCOME_WORDS[delivery.status]}"
            if delivery.status == Delivery.Status.FAILED and delivery.last_error:
                text += f": {delivery.last_error}"
            data = {
                "delivery": delivery.pk,
                "status": delivery.status,
                "user": page.user_id,
                "channel": page.channel_id,
            }
            events.append(
                _event(
                    page.alert_id, incidents.get(page.alert_id), EventKind.ESCALATION_PAGE, text, data, timezone.now()
                )
            )
        Page.objects.filter(pk__in=[page.pk for page in pages]).update(reported=True)
        _save_events(events)
        counts["reported"] += len(events)


def _expire_acknowledgements(now: datetime, counts: Counter[str]) -> None:
    """Alerts acknowledged longer ago than their policy allows, still not resolved, fire again.

    Each in its own transaction through ``alerts.services.unacknowledge``
    (timeline, push, notifications; ``on_alert_changed`` restarts the
    escalation). Under the alert's lock the escalation's state is current, so
    an alert resolved or acknowledged anew meanwhile is left alone, and two
    engines never expire one acknowledgement twice.
    """
    due = list(
        Escalation.objects.filter(state=Escalation.State.ACKNOWLEDGED, next_at__lte=now)
        .order_by("next_at", "id")
        .values_list("pk", "alert_id")[:BATCH]
    )
    for pk, alert_id in due:
        with transaction.atomic():
            alert = Alert.objects.select_for_update(skip_locked=True).filter(pk=alert_id).first()
            expiring = Escalation.objects.filter(pk=pk, state=Escalation.State.ACKNOWLEDGED, next_at__lte=now).first()
            if alert is None or expiring is None or alert.status != AlertStatus.ACKNOWLEDGED:
                continue
            acknowledged_at = alert.acknowledged_at or expiring.next_at
            minutes = round((expiring.next_at - acknowledged_at).total_seconds() / 60)
            reason = f"no resolution {minutes} min after acknowledgement — acknowledgement expired"
            unacknowledge(alert_id, ACTOR, reason)
            counts["unacknowledged"] += 1


def run_escalations(now: datetime | None = None) -> dict[str, int]:
    """One engine pass: expire acknowledgements, take every due step, queue due delayed pages, report ended pages.

    Safe to run from several processes at once and to kill at any point:
    each batch commits whole or not at all, and locked rows are skipped.
    """
    now = now or timezone.now()
    counts: Counter[str] = Counter()
    _expire_acknowledgements(now, counts)
    due = list(
        Escalation.objects.filter(state=Escalation.State.ACTIVE, next_at__lte=now)
        .order_by("next_at", "id")
        .values_list("pk", "alert_id")[: BATCH * 10]
    )
    if due:
        work = _Pass(now)
        for start in range(0, len(due), BATCH):
            _advance_batch(due[start : start + BATCH], work, counts)
    _send_delayed(now, counts)
    _report_outcomes(counts)
    return dict(counts)
