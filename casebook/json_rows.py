"""A few rows of one query as a single JSON value, so they can ride along with another query.

`json_rows(a, b, c)` aggregates, over the rows of its FROM, one JSON array `[a, b, c]` per row
into a JSON array: PostgreSQL's `json_agg(json_build_array(...))` (an empty array for no rows),
SQLite's `json_group_array(json_array(...))`. As an uncorrelated scalar subquery beside a
listing's columns it is evaluated once and costs no statement of its own. Values come back as
JSON gives them (times as ISO 8601 text); the order of the rows is not guaranteed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction


class json_rows(GenericFunction[Any]):
    """The JSON array of `[column, ...]` of every row aggregated."""

    type = JSON()
    inherit_cache = True


@compiles(json_rows, "postgresql")
def _json_rows_postgresql(element: json_rows, compiler: Any, **kw: Any) -> str:
    columns = compiler.process(element.clauses, **kw)
    return f"coalesce(json_agg(json_build_array({columns})), '[]'::json)"


@compiles(json_rows, "sqlite")
def _json_rows_sqlite(element: json_rows, compiler: Any, **kw: Any) -> str:
    return f"json_group_array(json_array({compiler.process(element.clauses, **kw)}))"
