"""Evaluating alert rules: alerts that raise and clear themselves.

One cycle reads every enabled rule, the latest value of every series they
match, and the pending states, in a fixed number of queries whatever the
number of rules and series; only transitions (fire, resolve) write more.
A cycle holds a lock so two schedulers started by mistake cannot both fire.
"""

import hashlib
import logging
import operator
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from alerts import services
from alerts.models import Alert, AlertRule, AlertStatus, RuleState
from metrics.models import Series

logger = logging.getLogger(__name__)

OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
ADVISORY_LOCK_KEY = 0x6F70_7372  # "opsr": one evaluation at a time, across processes


class _Blank(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def rule_fingerprint(rule, series):
    return hashlib.sha256(f"rule:{rule.pk}|{series.tags_key}".encode()).hexdigest()


def render_title(rule, series):
    values = _Blank(series.tags)
    values.update(metric=series.name, value=f"{series.last_value:g}", threshold=f"{rule.threshold:g}")
    return rule.title.format_map(values)


def _acquire_cycle_lock():
    if connection.vendor != "postgresql":
        return True  # SQLite: IMMEDIATE transactions already serialize writers
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
        return cursor.fetchone()[0]


class SeriesIndex:
    """Series by metric and by (metric, tag, value), so matching a rule costs its matches, not all series."""

    def __init__(self, series):
        self.by_metric: dict[str, list[Series]] = {}
        self.by_tag: dict[tuple[str, str, str], list[Series]] = {}
        for item in series:
            self.by_metric.setdefault(item.name, []).append(item)
            for key, value in item.tags.items():
                self.by_tag.setdefault((item.name, key, value), []).append(item)

    def matching(self, rule):
        if not rule.tags:
            return self.by_metric.get(rule.metric, [])
        (key, value), *rest = rule.tags.items()
        candidates = self.by_tag.get((rule.metric, key, value), [])
        return [item for item in candidates if all(item.tags.get(k) == v for k, v in rest)]


def evaluate_rules(now=None):
    """One evaluation cycle; returns counts of what it did. Idempotent; safe to run concurrently."""
    now = now or timezone.now()
    stale_after = timedelta(seconds=settings.OPSCONSOLE_STALE_SECONDS)
    done = {"rules": 0, "series": 0, "fired": 0, "resolved": 0, "stale": 0, "skipped": False}
    with transaction.atomic():
        if not _acquire_cycle_lock():
            done["skipped"] = True
            return done
        rules = list(AlertRule.objects.filter(enabled=True))
        index = SeriesIndex(Series.objects.filter(name__in={rule.metric for rule in rules}, last_at__isnull=False))
        states = {(state.rule_id, state.series_id): state for state in RuleState.objects.filter(rule__in=rules)}
        pairs = [(rule, series) for rule in rules for series in index.matching(rule)]
        fingerprints = {rule_fingerprint(rule, series): (rule, series) for rule, series in pairs}
        open_alerts = {
            alert.fingerprint: alert
            for alert in Alert.objects.filter(fingerprint__in=list(fingerprints)).exclude(status=AlertStatus.RESOLVED)
        }
        new_states, cleared = [], []
        for fingerprint, (rule, series) in fingerprints.items():
            state = states.get((rule.pk, series.pk))
            alert = open_alerts.get(fingerprint)
            if now - series.last_at > stale_after:
                if state:
                    cleared.append(state.pk)
                if alert:
                    services.resolve(
                        alert.pk,
                        f"rule:{rule.name}",
                        f"Stale: {series.name} has not reported since {series.last_at:%Y-%m-%d %H:%M:%S} UTC.",
                    )
                    done["stale"] += 1
                continue
            holds = OPERATORS[rule.operator](series.last_value, rule.threshold)
            if not holds:
                if state:
                    cleared.append(state.pk)
                if alert:
                    services.resolve(
                        alert.pk,
                        f"rule:{rule.name}",
                        f"Resolved by rule {rule.name}: {series.name} is {series.last_value:g}, "
                        f"no longer {rule.operator} {rule.threshold:g}.",
                    )
                    done["resolved"] += 1
                continue
            if state is None:
                state = RuleState(rule=rule, series=series, pending_since=now)
                new_states.append(state)
            if alert is None and now - state.pending_since >= timedelta(seconds=rule.for_seconds):
                services.raise_alert(
                    source=f"rule:{rule.name}",
                    title=render_title(rule, series)[:200],
                    category=rule.category,
                    severity=rule.severity,
                    value=series.last_value,
                    threshold=rule.threshold,
                    labels=series.tags,
                    fingerprint=fingerprint,
                    rule=rule,
                    actor=f"rule:{rule.name}",
                    message=f"{series.name} {rule.operator} {rule.threshold:g} for {rule.for_seconds} s",
                )
                done["fired"] += 1
        RuleState.objects.bulk_create(new_states)
        RuleState.objects.filter(pk__in=cleared).delete()
        done.update(rules=len(rules), series=len(pairs))
    return done
