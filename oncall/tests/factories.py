"""On-call data made the way the API makes it."""

import itertools
from datetime import date, time

from oncall import contacts
from oncall.api.escalation import save_steps
from oncall.models import EscalationPolicy, Layer, LayerMember, Schedule

_numbers = itertools.count(1)


def make_schedule(
    users, *, time_zone="UTC", starts_on=date(2026, 1, 5), handoff=time(9, 0), rotation="weekly", **fields
):
    schedule = Schedule.objects.create(name=f"schedule {next(_numbers)}", time_zone=time_zone)
    layer = Layer.objects.create(
        schedule=schedule, name="primary", rotation=rotation, starts_on=starts_on, handoff_time=handoff, **fields
    )
    LayerMember.objects.bulk_create([LayerMember(layer=layer, user=user, position=i) for i, user in enumerate(users)])
    return schedule


def make_webhook_contact(user, url, label="webhook"):
    return contacts.add_contact_method(user, label, "webhook", url=url)


def make_policy(steps, *, repeat=0, is_default=True, **fields):
    policy = EscalationPolicy.objects.create(
        name=f"policy {next(_numbers)}", repeat=repeat, is_default=is_default, **fields
    )
    save_steps(policy, steps)
    return policy
