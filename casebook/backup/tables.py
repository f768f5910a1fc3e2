"""A table's rows as an archive member (gzip-compressed JSON lines) and back into a database.

The first line names the table and its columns; each following line is one row, a JSON array of
`values.encode`d values in that column order. Rows are read in primary-key order, so a table
that refers to itself loads parents before children, and two dumps of one database are equal.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from casebook.backup import values
from casebook.backup.errors import BackupError

BATCH = 500


async def dump_table(connection: AsyncConnection, table: Table, target: Path) -> int:
    """Write `table`'s rows to the file `target`; returns how many."""
    columns = [c.name for c in table.columns]
    order = list(table.primary_key.columns) or list(table.columns)
    count = 0
    # mtime=0: the same rows give the same bytes.
    with target.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        out.write(_line({"table": table.name, "columns": columns}))
        result = await connection.stream(select(table).order_by(*order))
        async for partition in result.partitions(BATCH):
            for row in partition:
                out.write(_line([values.encode(v) for v in row]))
                count += 1
    return count


def _line(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


async def load_table(
    connection: AsyncConnection,
    table: Table,
    member: IO[bytes],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Insert the rows of an archive member into `table`; returns how many."""
    dialect = connection.dialect.name
    with gzip.GzipFile(fileobj=member, mode="rb") as lines:
        header = json.loads(lines.readline())
        if header.get("table") != table.name:
            found = header.get("table")
            raise BackupError(f"the rows of {found!r} came where {table.name} was due")
        columns = [table.columns.get(name) for name in header["columns"]]
        unknown = [n for n, c in zip(header["columns"], columns, strict=True) if c is None]
        if unknown:
            raise BackupError(f"table {table.name} has no column {', '.join(unknown)}")
        batch: list[dict[str, Any]] = []
        count = 0
        for line in lines:
            row = json.loads(line)
            batch.append({
                c.name: values.decode(v, c.type, dialect)  # type: ignore[union-attr]
                for c, v in zip(columns, row, strict=True)
            })
            if len(batch) == BATCH:
                count += await _insert(connection, table, batch)
                batch = []
                if progress is not None:
                    progress(count)
        count += await _insert(connection, table, batch)
    return count


async def _insert(connection: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> int:
    if rows:
        await connection.execute(table.insert(), rows)
    return len(rows)
