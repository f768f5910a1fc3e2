"""A consistent, read-only view of the database while the server goes on writing to it.

SQLite: the online backup API copies the database into a private file in one step under a read
transaction (WAL lets writers go on meanwhile), and the copy is read at leisure. PostgreSQL: one
REPEATABLE READ, READ ONLY transaction sees every table as of its first query.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import MetaData, Table, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from casebook.backup.errors import BackupError
from casebook.db import create_engine, is_sqlite

VERSION_TABLE = "alembic_version"


@contextlib.asynccontextmanager
async def snapshot(url: str, work_dir: Path) -> AsyncIterator[AsyncConnection]:
    """A connection that sees the database at `url` as of one moment, for reading only."""
    if is_sqlite(url):
        with tempfile.TemporaryDirectory(dir=work_dir, prefix=".snapshot-") as folder:
            copy = Path(folder) / "snapshot.db"
            await asyncio.to_thread(_sqlite_copy, sqlite_path(url), copy)
            engine = create_engine(f"sqlite+aiosqlite:///{copy}")
            try:
                async with engine.connect() as connection:
                    yield connection
            finally:
                await engine.dispose()
        return
    engine = create_engine(url, isolation_level="REPEATABLE READ")
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SET TRANSACTION READ ONLY"))
            yield connection
            await connection.rollback()
    finally:
        await engine.dispose()


def sqlite_path(url: str) -> Path:
    """The file of a SQLite URL."""
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _sqlite_copy(source: Path, target: Path) -> None:
    if not source.is_file():
        raise BackupError(f"the database {source} does not exist")
    # Opened read-only: the copy must never create or change the server's database.
    with (
        contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


async def tables(connection: AsyncConnection) -> list[Table]:
    """The database's tables in the order their rows can be loaded (referenced ones first),
    without Alembic's version table."""
    metadata = MetaData()
    await connection.run_sync(metadata.reflect)
    return [t for t in metadata.sorted_tables if t.name != VERSION_TABLE]


async def revision(connection: AsyncConnection) -> str:
    """The schema's Alembic revision (BackupError when the schema was never migrated)."""
    try:
        found = (await connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))).all()
    except DBAPIError:  # no version table
        found = []
    if len(found) != 1:
        raise BackupError("the database has no Junta schema (run `junta db upgrade` first)")
    return str(found[0][0])
