"""A staff member's own contact methods and personal notification rules, on one page.

Server-rendered forms like the other on-call pages, validated by the REST
serializers. Everyone sees and changes only their own: another person's
method or rule is a 404, whatever id is posted.
"""

from typing import Any

from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access import staff_required
from alerts.models import Delivery, NotificationChannel, Severity
from alerts.services import actor_name
from oncall import contacts
from oncall.api.escalation import ContactMethodSerializer, NotificationRuleSerializer
from oncall.forms import flat_errors
from oncall.models import ContactMethod, NotificationRule

KIND_LABELS: dict[str, Any] = {
    NotificationChannel.Kind.EMAIL: gettext_lazy("E-mail"),
    NotificationChannel.Kind.APPRISE: gettext_lazy("Apprise URL (Telegram, Slack, ntfy, …)"),
    NotificationChannel.Kind.WEBHOOK: gettext_lazy("Webhook"),
}


def _outcome(delivery: Delivery | None) -> dict[str, str] | None:
    """A test delivery's state in words, and whether the page should look again soon."""
    if delivery is None:
        return None
    if delivery.status == Delivery.Status.SENT:
        code = f" (HTTP {delivery.response_code})" if delivery.response_code else ""
        return {"state": "sent", "text": _("Test delivered") + code}
    if delivery.status == Delivery.Status.FAILED:
        return {"state": "failed", "text": _("Test failed: %(error)s") % {"error": delivery.last_error}}
    if delivery.attempts:
        return {
            "state": "pending",
            "text": _("Test not through yet, retrying: %(error)s") % {"error": delivery.last_error},
        }
    return {"state": "pending", "text": _("Test queued, sending…")}


def _rule_words(rule: NotificationRule) -> str:
    if rule.delay_minutes == 0:
        return _("at once by %(method)s") % {"method": rule.contact_method.label}
    return _("after %(minutes)s min by %(method)s") % {
        "minutes": rule.delay_minutes,
        "method": rule.contact_method.label,
    }


def _page(request, errors: dict[str, str] | None = None, values: dict[str, Any] | None = None, status: int = 200):
    methods = list(ContactMethod.objects.filter(user=request.user).select_related("channel").order_by("label"))
    tests = contacts.last_tests(methods)
    rows = [
        {
            "method": method,
            "kind": KIND_LABELS.get(method.channel.kind, method.channel.kind),
            "target": contacts.shown_target(method),
            "outcome": _outcome(tests.get(method.pk)),
        }
        for method in methods
    ]
    rules = NotificationRule.objects.filter(user=request.user).select_related("contact_method")
    by_severity = [
        {"severity": label, "rules": [(rule, _rule_words(rule)) for rule in rules if rule.severity == value]}
        for value, label in reversed(Severity.choices)
    ]
    context = {
        "rows": rows,
        "by_severity": by_severity,
        "methods": methods,
        "kinds": list(KIND_LABELS.items()),
        "severities": list(reversed(Severity.choices)),
        "errors": errors or {},
        "values": values or {"kind": NotificationChannel.Kind.EMAIL, "severity": Severity.CRITICAL, "delay": 0},
        "refresh": any(row["outcome"] and row["outcome"]["state"] == "pending" for row in rows),
    }
    return render(request, "oncall/contacts.html", context, status=status)


@staff_required
def contact_page(request):
    return _page(request)


@staff_required
def add_contact(request):
    if request.method != "POST":
        return redirect("oncall-contacts")
    post = request.POST
    values = {name: post.get(name, "").strip() for name in ("label", "kind", "url", "emails")}
    body = {"user": request.user.pk, "label": values["label"], "kind": values["kind"]}
    body["emails" if values["kind"] == NotificationChannel.Kind.EMAIL else "url"] = (
        values["emails"] if values["kind"] == NotificationChannel.Kind.EMAIL else values["url"]
    )
    errors: dict[str, str] = {}
    if ContactMethod.objects.filter(user=request.user, label=values["label"]).exists():
        errors["label"] = _("You already have a contact method called %(label)s.") % {"label": values["label"]}
    serializer = ContactMethodSerializer(data=body)
    if serializer.is_valid() and not errors:
        serializer.save()
        return redirect("oncall-contacts")
    if not serializer.is_valid():
        errors.update(flat_errors(serializer.errors))
    values["url"] = ""  # a secret typed once is not sent back, even to its owner
    return _page(request, errors, {**values, "severity": Severity.CRITICAL, "delay": 0}, status=400)


@staff_required
def test_contact(request, method_id):
    method = get_object_or_404(ContactMethod, pk=method_id, user=request.user)
    if request.method == "POST":
        contacts.send_test(method, actor_name(request.user))
    return redirect("oncall-contacts")


@staff_required
def delete_contact(request, method_id):
    method = get_object_or_404(ContactMethod, pk=method_id, user=request.user)
    if request.method == "POST":
        contacts.delete_contact_method(method)
    return redirect("oncall-contacts")


@staff_required
def add_rule(request):
    if request.method != "POST":
        return redirect("oncall-contacts")
    post = request.POST
    values = {
        "severity": post.get("severity", ""),
        "method": post.get("contact_method", ""),
        "delay": post.get("delay_minutes", "0").strip() or "0",
    }
    mine = (
        ContactMethod.objects.filter(user=request.user, pk=values["method"]).first()
        if values["method"].isdigit()
        else None
    )
    if mine is None:
        return _page(request, {"contact_method": _("Choose one of your contact methods.")}, values, status=400)
    body = {"severity": values["severity"], "contact_method": mine.pk, "delay_minutes": values["delay"]}
    serializer = NotificationRuleSerializer(data=body)
    if serializer.is_valid():
        serializer.save()
        return redirect("oncall-contacts")
    return _page(request, flat_errors(serializer.errors), values, status=400)


@staff_required
def delete_rule(request, rule_id):
    rule = get_object_or_404(NotificationRule, pk=rule_id, user=request.user)
    if request.method == "POST":
        rule.delete()
    return redirect("oncall-contacts")
