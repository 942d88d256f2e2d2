"""Writing a pass's thousands of rows at once: one ``COPY`` on Postgres, ``bulk_create`` elsewhere.

``bulk_create`` on Postgres sends its rows as arrays (``UNNEST``), and
psycopg quotes every JSON or text element of an array in Python, character
by character: for the engine's pages (a ~1 kB alert payload each) that
quoting was most of the pass. ``COPY`` escapes in psycopg's C code, and
JSON already written as text (once per alert) goes as it is.

Columns the caller does not give take the model's defaults, evaluated once
per call, so a column added later with a default keeps working here.
"""

import json
from typing import Any

from django.db import connection, models


def _defaults(model: type[models.Model], given: set[str]) -> dict[str, Any]:
    """Every other concrete column's value for a new row, as the database takes it."""
    template = model()
    values: dict[str, Any] = {}
    for field in model._meta.concrete_fields:
        if field.primary_key or field.attname in given:
            continue
        value = field.pre_save(template, add=True)  # auto_now_add fields: now
        values[str(field.column)] = field.get_db_prep_save(value, connection)
    return values


def bulk_create_rows(
    model: type[models.Model], rows: list[dict[str, Any]], json_fields: tuple[str, ...] = ()
) -> list[int]:
    """``copy_rows`` through ``bulk_create``: for SQLite (and ``bench/escalation.py``'s comparison)."""
    made = [model(**{name: json.loads(v) if name in json_fields else v for name, v in row.items()}) for row in rows]
    return [instance.pk for instance in model._default_manager.bulk_create(made)]


def _new_ids(model: type[models.Model], count: int) -> list[int]:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
        return sorted(row[0] for row in cursor.fetchall())


def copy_rows(model: type[models.Model], rows: list[dict[str, Any]], json_fields: tuple[str, ...] = ()) -> list[int]:
    """Insert ``rows`` (attname → value; ``json_fields`` already JSON text) and return their new ids, in order.

    Every row names the same attnames. Ids come from the table's own
    sequence, ascending in the order of ``rows``, so the rows sort as they
    would had they been inserted one by one. Runs in the caller's transaction.
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        return bulk_create_rows(model, rows, json_fields)
    names = list(rows[0])
    fields = {field.attname: field for field in model._meta.concrete_fields}
    defaults = _defaults(model, set(names))
    columns = ["id", *(str(fields[name].column) for name in names), *defaults]
    ids = _new_ids(model, len(rows))
    quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
    tail = tuple(defaults.values())
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
        write_row = copy.write_row
        for new_id, row in zip(ids, rows, strict=True):
            write_row((new_id, *(row[name] for name in names), *tail))
    return ids
