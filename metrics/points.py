"""What a valid metric point is (contract, section 2: metric ingest body).

Validation is plain Python rather than a DRF serializer: a 10,000-point batch
must check in a few milliseconds, and each problem is reported with the
index and field of the point it belongs to.
"""

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypedDict

from opsconsole import telemetry

MAX_POINTS = 10_000
MAX_TAGS = 32
MAX_TAG_VALUE = 200
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,199}$")
TAG_KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
POINT_FIELDS = {"name", "value", "timestamp", "tags", "unit"}
# A unit as OTLP and UCUM write them: "By", "s", "By/s", "%", "{request}".
UNIT_PATTERN = re.compile(r"^[\x21-\x7e]{1,32}$")
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(hours=1)  # agents' clocks drift; a day ahead is a bug


class Point(NamedTuple):
    """One validated point; a named tuple because a batch makes ten thousand of them."""

    name: str
    tags_key: str
    tags: dict[str, str]
    ts: datetime
    value: float
    unit: str = ""  # what the sender said the value counts in; "" when it said nothing


class PointError(TypedDict):
    index: int
    field: str
    message: str


class InvalidPoints(Exception):
    def __init__(self, errors: list[PointError], total: int) -> None:
        super().__init__(
            f"{len({error['index'] for error in errors})} of {total} points are invalid; nothing was stored."
        )
        self.errors = errors


class InvalidBody(Exception):
    pass


def tags_key(tags: Mapping[str, str]) -> str:
    return ",".join(f"{key}={tags[key]}" for key in sorted(tags))


def parse_timestamp(raw: object, now: datetime) -> datetime:
    """A datetime from ISO-8601 text or epoch seconds; None (absent) means now."""
    if raw is None:
        return now
    if isinstance(raw, bool):
        raise ValueError("must be an ISO-8601 string or epoch seconds")
    if isinstance(raw, (int, float)):
        if not math.isfinite(raw):
            raise ValueError("must be a finite number of epoch seconds")
        try:
            ts = datetime.fromtimestamp(raw, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError("is out of range") from None
    elif isinstance(raw, str):
        try:
            ts = datetime.fromisoformat(raw.replace("Z", "+00:00") if raw.endswith("Z") else raw)
        except ValueError:
            raise ValueError("is not an ISO-8601 date-time") from None
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)  # documented: a time without offset is UTC
        try:
            ts = ts.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is in year 0 in UTC
            raise ValueError("is out of range") from None
    else:
        raise ValueError("must be an ISO-8601 string or epoch seconds")
    if ts < EARLIEST:
        raise ValueError("is before 2000-01-01")
    if ts > now + FUTURE_TOLERANCE:
        raise ValueError("is more than an hour in the future")
    return ts


def _ignore(field: str, message: str) -> None:
    """A report that discards: the fast path only needs to know whether tags are valid."""


def _check_tags(tags: object, report: Callable[[str, str], None]) -> dict[str, str] | None:
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        report("tags", "must be an object of strings")
        return None
    if len(tags) > MAX_TAGS:
        report("tags", f"at most {MAX_TAGS} tags")
        return None
    for key, value in tags.items():
        if type(key) is not str or not TAG_KEY_PATTERN.match(key):
            report(
                f"tags.{str(key)[:64]}",
                "tag names are 1-64 characters: letters, digits, _ . - (not starting with a digit)",
            )
            return None
        if not isinstance(value, str) or not 0 < len(value) <= MAX_TAG_VALUE or "," in value or "=" in value:
            report(f"tags.{key}", f"tag values are strings of 1-{MAX_TAG_VALUE} characters without ',' or '='")
            return None
    return tags


def _point_errors(index: int, raw: Any, now: datetime) -> list[PointError]:
    """Every problem with one point, as (index, field, message) dicts; [] when it is valid."""
    errors: list[PointError] = []

    def report(field: str, message: str) -> None:
        errors.append({"index": index, "field": field, "message": message})

    if not isinstance(raw, dict):
        report("point", "must be an object")
        return errors
    unknown = set(raw) - POINT_FIELDS
    if unknown:
        report(sorted(unknown)[0], f"unknown field; a point has {', '.join(sorted(POINT_FIELDS))}")
    name = raw.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        report("name", "required; 1-200 characters: letters, digits, _ . : - (not starting with a digit)")
    value = raw.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        report("value", "required; must be a number")
    else:
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an integer too large for a double
            finite = False
        if not finite:
            report("value", "must be finite")
    try:
        parse_timestamp(raw.get("timestamp"), now)
    except ValueError as error:
        report("timestamp", str(error))
    _check_tags(raw.get("tags"), report)
    unit = raw.get("unit", "")
    if unit != "" and (not isinstance(unit, str) or not UNIT_PATTERN.match(unit)):
        report("unit", "must be 1-32 printable ASCII characters without spaces, e.g. By or ms")
    return errors


def parse_points(body: Any, now: datetime | None = None) -> list[Point]:
    """The points of an ingest body, all valid, or InvalidBody / InvalidPoints listing every problem.

    The common case (every point valid, few distinct names and tag sets)
    takes a fast path that checks each distinct name and tag set once; any
    point that fails it is re-checked field by field for the report.
    """
    now = now or datetime.now(UTC)
    if not isinstance(body, dict) or "points" not in body:
        raise InvalidBody('The body must be an object with one key, "points", holding a list of points.')
    if set(body) != {"points"}:
        unknown = ", ".join(sorted(str(key) for key in body if key != "points"))
        raise InvalidBody(f'Unknown field: {unknown}; the body has one key, "points".')
    raw_points = body["points"]
    if not isinstance(raw_points, list) or not raw_points:
        raise InvalidBody('"points" must be a non-empty list.')
    if len(raw_points) > MAX_POINTS:
        telemetry.ingest_points.labels("refused").inc(len(raw_points))
        raise InvalidBody(f"At most {MAX_POINTS} points per request; this one has {len(raw_points)}.")
    latest = now + FUTURE_TOLERANCE
    from_iso, from_epoch = datetime.fromisoformat, datetime.fromtimestamp
    points: list[Point] = []
    errors: list[PointError] = []
    valid_names: set[str] = set()
    # Tag sets seen valid, by their items in the order given: (tags_key, tags).
    valid_tags: dict[tuple[tuple[str, str], ...], tuple[str, dict[str, str]]] = {(): ("", {})}
    for index, raw in enumerate(raw_points):
        try:
            name, value = raw["name"], raw["value"]  # TypeError when raw is not an object
            unit: Any = raw.get("unit", "")
            if type(raw) is not dict or len(raw) != 2 + ("timestamp" in raw) + ("tags" in raw) + ("unit" in raw):
                raise ValueError  # an unknown field
            if unit and (type(unit) is not str or not UNIT_PATTERN.match(unit)):
                raise ValueError
            if name not in valid_names:
                if type(name) is not str or not NAME_PATTERN.match(name):
                    raise ValueError
                valid_names.add(name)
            if type(value) is not float:
                if type(value) is not int:
                    raise ValueError
                value = float(value)
            if not -math.inf < value < math.inf:
                raise ValueError
            raw_ts: Any = raw.get("timestamp")
            kind = type(raw_ts)
            if kind is str:
                ts = from_iso(raw_ts)
                if ts.tzinfo is not UTC:
                    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
            elif kind is float or kind is int:
                ts = from_epoch(raw_ts, UTC)
            elif raw_ts is None:
                ts = now
            else:
                raise ValueError
            if not EARLIEST <= ts <= latest:
                raise ValueError
            tags: Any = raw.get("tags")
            items = () if tags is None else tuple(tags.items())  # TypeError/AttributeError: not an object
            known = valid_tags.get(items)
            if known is None:
                if _check_tags(tags, _ignore) is None:
                    raise ValueError
                known = valid_tags[items] = (tags_key(tags), dict(tags))
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError, OSError):
            errors.extend(_point_errors(index, raw, now))
            continue
        points.append(Point(name, known[0], known[1], ts, value, unit))
    if errors:
        telemetry.ingest_points.labels("refused").inc(len(raw_points))  # all or nothing: every point refused
        raise InvalidPoints(errors, len(raw_points))
    return points


class InvalidItem(Exception):
    """One line or item of a non-JSON ingest body (Influx, Prometheus, OTLP) is wrong; nothing was stored.

    ``item`` names it as its format does ("line 3",
    "resourceMetrics[0].scopeMetrics[1].metrics[2]"), ``message`` says what is wrong.
    """

    def __init__(self, item: str, message: str, line: int | None = None) -> None:
        super().__init__(f"{item}: {message}; nothing was stored.")
        self.item = item
        self.message = message
        self.line = line  # the body's line number, when the format has lines


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def from_epoch_ns(nanoseconds: int) -> datetime:
    """A UTC datetime from integer epoch nanoseconds, to the microsecond.

    Whole microseconds over 1e6 round back to the same microsecond for any
    date the store accepts (a double holds 2000-2100 in seconds to ~0.2 µs).
    """
    try:
        return datetime.fromtimestamp((nanoseconds // 1000) / 1e6, UTC)
    except (OverflowError, OSError, ValueError):
        return _EPOCH + timedelta(microseconds=nanoseconds // 1000)  # far outside: let the range check say so


TagSet = tuple[str, dict[str, str]]  # (tags_key, tags) of a checked tag set


class PointBuilder:
    """Points from the other wire formats, held to the rules of the JSON ingest body.

    Each distinct name and tag set is checked once, as in ``parse_points``'s
    fast path: a caller checks a line's or item's tags once with ``tag_set``
    and adds each of its values. Both raise ValueError saying which part is
    wrong (the caller adds its line or item); ``add`` InvalidBody past ``MAX_POINTS``.
    """

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC)
        self.latest = self.now + FUTURE_TOLERANCE
        self.points: list[Point] = []
        self._names: set[str] = set()
        self._tags: dict[tuple[tuple[str, str], ...], TagSet] = {(): ("", {})}

    def tag_set(self, tags: dict[str, str]) -> TagSet:
        """``tags`` checked (once per distinct set) and keyed, for ``add``; ValueError naming the bad tag."""
        return self._tags.get(tuple(tags.items())) or self.tag_set_of(tuple(tags.items()))

    def tag_set_of(self, items: tuple[tuple[str, str], ...]) -> TagSet:
        """``tag_set`` from ``(name, value)`` pairs, a later pair winning over an earlier one of its name."""
        known = self._tags.get(items)
        if known is None:
            tags = dict(items)
            problems: list[str] = []
            if _check_tags(tags, lambda field, message: problems.append(f"{field}: {message}")) is None:
                raise ValueError(problems[0])
            if any("\x00" in key or "\x00" in text for key, text in tags.items()):
                raise ValueError("tags cannot hold a NUL character")
            known = self._tags[items] = (tags_key(tags), tags)
        return known

    def add(self, name: str, tags: TagSet, ts: datetime | None, value: float, unit: str = "") -> None:
        if name not in self._names:
            if not NAME_PATTERN.match(name):
                raise ValueError(
                    f"point name {name[:200]!r} is not 1-200 characters of letters, digits, _ . : - "
                    "(not starting with a digit)"
                )
            self._names.add(name)
        if not -math.inf < value < math.inf:
            raise ValueError(f"{name}: the value must be finite")
        if ts is None:
            ts = self.now
        elif not EARLIEST <= ts <= self.latest:
            raise ValueError(f"{name}: the timestamp {ts.isoformat()} is before 2000 or more than an hour ahead")
        if len(self.points) >= MAX_POINTS:
            raise InvalidBody(f"At most {MAX_POINTS} points per request; this one has more.")
        self.points.append(Point(name, tags[0], tags[1], ts, value, unit))
