"""A column's value as JSON and back, chosen by the column's SQL type (no I/O).

The dump is neutral between SQLite and PostgreSQL, so each value is written in the one form both
can take back exactly: timestamps as ISO 8601 in UTC (SQLite keeps them without a zone, and the
casebook stores UTC everywhere, so a naive value is UTC), bytes as base64, decimals as text,
JSON columns as their JSON. Integers of any size and floats (by `repr`) survive JSON as they are.
"""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import types


def encode(value: Any) -> Any:
    """`value` as read from any column, in a form `json.dumps` writes and `decode` reads back."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Decimal):
        return str(value)
    return value


def decode(value: Any, column_type: types.TypeEngine[Any], dialect: str) -> Any:
    """`value` as written by `encode`, made ready for a column of `column_type` on `dialect`."""
    if value is None or isinstance(column_type, types.JSON):
        return value
    if isinstance(column_type, types.DateTime):
        moment = dt.datetime.fromisoformat(value).astimezone(dt.UTC)
        # PostgreSQL's timestamp without time zone wants a naive value; SQLite stores either.
        if dialect == "postgresql" and not column_type.timezone:
            return moment.replace(tzinfo=None)
        return moment
    if isinstance(column_type, types.Date):
        return dt.date.fromisoformat(value)
    if isinstance(column_type, types.Time):
        return dt.time.fromisoformat(value)
    if isinstance(column_type, types.LargeBinary | types.BINARY | types.VARBINARY):
        return base64.b64decode(value)
    if isinstance(column_type, types.Float):
        return float(value)
    if isinstance(column_type, types.Numeric):
        return Decimal(value)
    if isinstance(column_type, types.Boolean):
        return bool(value)
    return value
