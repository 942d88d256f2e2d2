"""Which runbooks an alert's labels call for, answered from memory.

Every alert the API or a socket shows lists its runbooks, and an alert write
renders the alert at least twice, so the runbooks are not read per alert:
each process keeps the list of (id, title, matchers) and matches in Python.
Its own writes drop the list at once (a signal, see ``runbooks.apps``);
another process's copy is read again at most ``CACHE_SECONDS`` later.
"""

import threading
import time
from collections.abc import Mapping
from typing import Any, TypedDict
from urllib.parse import urlsplit

from django.urls import reverse

# How stale another process's list of runbooks may be.
CACHE_SECONDS = 5.0
# The label the Alertmanager integration keeps a ``runbook_url`` annotation in.
RUNBOOK_URL_LABEL = "runbook_url"
RUNBOOK_URL_TITLE = "Runbook"


class RunbookLink(TypedDict):
    id: int | None
    title: str
    url: str


_lock = threading.Lock()
_cached: list[tuple[int, str, str, dict[str, Any]]] | None = None
_loaded_at = 0.0


def forget_runbooks(**_kwargs: object) -> None:
    """Drop this process's list; the next match reads the runbooks again."""
    global _cached
    with _lock:
        _cached = None


def _runbooks() -> list[tuple[int, str, str, dict[str, Any]]]:
    global _cached, _loaded_at
    cached = _cached
    if cached is not None and time.monotonic() - _loaded_at < CACHE_SECONDS:
        return cached
    from runbooks.models import Runbook

    rows = Runbook.objects.order_by("title", "id").values_list("id", "title", "matchers")
    fresh = [
        (pk, title, runbook_url(pk), matchers)
        for pk, title, matchers in rows
        if isinstance(matchers, dict) and matchers  # no matchers: applies to no alert
    ]
    with _lock:
        _cached, _loaded_at = fresh, time.monotonic()
    return fresh


def runbook_url(runbook_id: int) -> str:
    return reverse("runbook-detail", args=[runbook_id])


def applies(matchers: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    """The one rule: every matcher is a label of the alert, with the same value; no matchers match nothing."""
    return bool(matchers) and all(key in labels and labels[key] == value for key, value in matchers.items())


def _safe_link(url: object) -> bool:
    # A label is whatever a sender wrote: only web links become links.
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def runbook_links(labels: Mapping[str, Any]) -> list[RunbookLink]:
    """The runbooks whose matchers ``labels`` contain (by title), then the alert's own ``runbook_url`` label."""
    links: list[RunbookLink] = [
        {"id": pk, "title": title, "url": url} for pk, title, url, matchers in _runbooks() if applies(matchers, labels)
    ]
    external = labels.get(RUNBOOK_URL_LABEL)
    if _safe_link(external):
        links.append({"id": None, "title": RUNBOOK_URL_TITLE, "url": str(external)})
    return links
