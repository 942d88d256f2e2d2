"""Influx line protocol, as Telegraf's ``outputs.influxdb_v2`` and Influx clients write it.

    measurement[,tag=value...] field=value[,field=value...] [timestamp]

Each numeric or boolean field becomes a point ``<measurement>_<field>`` with
the line's tags. String fields are skipped: the console stores numbers, and
Telegraf's own inputs mix a few text fields (``system``'s ``uptime_format``)
into numeric lines, which must not cost the whole batch. Any line that does
not parse, or a point the JSON rules refuse, fails the whole body with its
line number (reference: https://docs.influxdata.com/influxdb/v2/reference/syntax/line-protocol/).
"""

from datetime import datetime

from metrics.points import InvalidItem, Point, PointBuilder, from_epoch_ns

# Nanoseconds per unit of the write API's ``precision`` parameter.
PRECISIONS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
_TRUE = {"t", "T", "true", "True", "TRUE"}
_FALSE = {"f", "F", "false", "False", "FALSE"}


def _split(text: str, separator: str) -> list[str]:
    """``text`` split at every ``separator`` not escaped by a backslash and not inside a quoted string."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            current.append(text[index : index + 2])
            index += 2
            continue
        if char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            index += 1
            continue
        current.append(char)
        index += 1
    if quoted:
        raise ValueError("a string field value has no closing quote")
    parts.append("".join(current))
    return parts


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    out: list[str] = []
    index = 0
    while index < len(text):
        if text[index] == "\\" and index + 1 < len(text) and text[index + 1] in ', =\\"':
            out.append(text[index + 1])
            index += 2
        else:
            out.append(text[index])
            index += 1
    return "".join(out)


def _field_value(raw: str) -> float | None:
    """The number a field value stands for; None for a string field (skipped)."""
    if not raw:
        raise ValueError("a field has no value")
    if raw[0] == '"':
        return None
    last = raw[-1]
    if last in "iu":
        try:
            value = int(raw[:-1])
        except ValueError:
            raise ValueError(f"{raw!r} is not an integer") from None
        if last == "u" and value < 0:
            raise ValueError(f"{raw!r}: an unsigned integer cannot be negative")
        return float(value)
    if raw in _TRUE:
        return 1.0
    if raw in _FALSE:
        return 0.0
    try:
        number = float(raw)
    except ValueError:
        raise ValueError(f"{raw!r} is not a float, integer (1i), unsigned (1u), boolean or string") from None
    if raw.lstrip("+-").lower() in ("inf", "infinity", "nan"):
        raise ValueError(f"{raw!r}: line protocol has no NaN or infinity")
    return number


def _parse_line(line: str, builder: PointBuilder, scale: int) -> None:
    sections = _split(line, " ") if "\\" in line or '"' in line else line.split(" ")
    if len(sections) == 2:
        head, fields = sections
        ts: datetime | None = None
    elif len(sections) == 3:
        head, fields, stamp = sections
        try:
            ts = from_epoch_ns(int(stamp) * scale)
        except ValueError:
            raise ValueError(f"the timestamp {stamp!r} is not an integer") from None
        except OverflowError:
            raise ValueError(f"the timestamp {stamp!r} is out of range") from None
    else:
        raise ValueError("expected 'measurement[,tags] fields [timestamp]' separated by single spaces")
    head_parts = _split(head, ",") if "\\" in head else head.split(",")
    measurement = _unescape(head_parts[0])
    if not measurement:
        raise ValueError("the measurement is missing")
    tags: dict[str, str] = {}
    for pair in head_parts[1:]:
        key, sep, tag_value = pair.partition("=")
        if not sep or not key or not tag_value:
            raise ValueError(f"the tag {pair!r} is not key=value")
        tags[_unescape(key)] = _unescape(tag_value)
    tag_set = builder.tag_set(tags)
    field_parts = _split(fields, ",") if ("\\" in fields or '"' in fields) else fields.split(",")
    for pair in field_parts:
        field, sep, raw = pair.partition("=")
        if not sep or not field:
            raise ValueError(f"the field {pair!r} is not key=value")
        value = _field_value(raw)
        if value is not None:
            builder.add(f"{measurement}_{_unescape(field)}", tag_set, ts, value)


def parse_lines(text: str, precision: str = "ns", now: datetime | None = None) -> list[Point]:
    """The points of a line-protocol body, or InvalidItem naming its first bad line (numbered from 1)."""
    scale = PRECISIONS[precision]
    builder = PointBuilder(now)
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.strip(" \t\r")
        if not line or line[0] == "#":
            continue
        try:
            _parse_line(line, builder, scale)
        except ValueError as error:
            raise InvalidItem(f"line {number}", str(error), line=number) from None
    return builder.points
