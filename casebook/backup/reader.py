"""Reading a backup: `junta backup --verify` checks one without writing anything; `junta
restore` checks it the same way first, then loads it into an empty deployment.

A restore makes the schema of the backup's revision, loads every table in dependency order in
one transaction, puts the files back (each written under a temporary name, hashed again, then
renamed), sets PostgreSQL's id sequences past the loaded rows, commits, and only then migrates
to this version's newest schema. The dump is backend-neutral, so a SQLite backup restores into
PostgreSQL and the other way round.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Integer, MetaData, Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from casebook import schema
from casebook.backup import archive, crypto, files
from casebook.backup.errors import BackupError
from casebook.backup.manifest import NAME, TABLES_DIR, Manifest, problems
from casebook.backup.snapshot import VERSION_TABLE
from casebook.backup.tables import load_table
from casebook.db import create_engine

Progress = Callable[[str], None]
_TABLE_SUFFIX = ".jsonl.gz"


def _quiet(_message: str) -> None:
    pass


@contextlib.contextmanager
def open_backup(path: Path, key: bytes | None) -> Iterator[IO[bytes]]:
    """The plaintext stream of the backup at `path` (decrypted with `key` when encrypted)."""
    if not path.is_file():
        raise BackupError(f"there is no backup at {path}")
    encrypted = crypto.is_encrypted(path)
    if encrypted and key is None:
        raise BackupError(f"{path} is encrypted: give its key file with --key")
    with path.open("rb") as raw:
        yield crypto.DecryptingReader(raw, key) if encrypted and key else raw  # type: ignore[misc]


def verify(path: Path, key: bytes | None, progress: Progress = _quiet) -> Manifest:
    """The backup's manifest, once every member was read and matched it (BackupError if not)."""
    seen: dict[str, tuple[str, int]] = {}
    raw_manifest: bytes | None = None
    told = time.monotonic()
    with open_backup(path, key) as stream:
        for member, data in archive.members(stream):
            if raw_manifest is not None or member in seen:
                raise BackupError(f"the backup holds {member} twice or after its manifest",
                                  "backup_damaged")
            if member == NAME:
                raw_manifest = data.read()
                continue
            seen[member] = archive.copy_hashed(data)
            if time.monotonic() - told >= 2.0:
                told = time.monotonic()
                progress(f"checked {len(seen)} files")
    if raw_manifest is None:
        raise BackupError("the backup is cut short: it ends before its manifest", "backup_damaged")
    manifest = Manifest.from_json(raw_manifest)
    found = problems(manifest, seen)
    if found:
        more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
        raise BackupError("the backup is damaged: " + "; ".join(found[:3]) + more,
                          "backup_damaged")
    return manifest


@dataclass(frozen=True)
class Restored:
    """What a restore put back."""

    manifest: Manifest
    revision: str  # the schema's revision once migrated
    files: int
    bytes: int
    warnings: list[str] = field(default_factory=list)


async def restore(
    path: Path,
    url: str,
    roots: files.FileRoots,
    *,
    key: bytes | None,
    replace: bool = False,
    secret_key: bytes | None = None,
    progress: Progress = _quiet,
) -> Restored:
    """Restore the backup at `path` into the database at `url` and the file roots."""
    manifest = verify(path, key, progress)
    progress(f"backup checked: {len(manifest.files)} files, schema {manifest.revision}")
    _require_known(manifest.revision)
    if not replace:
        await _require_empty(url, roots)
    await _drop_tables(url)
    await schema.upgrade(url, manifest.revision, secret_key=secret_key)
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            tables = await _tables(connection)
            count, size = await _load(path, key, manifest, connection, tables, roots, progress)
            await _reset_sequences(connection, tables)
    finally:
        await engine.dispose()
    await schema.upgrade(url, "head", secret_key=secret_key)
    head = ScriptDirectory.from_config(schema.alembic_config()).get_current_head() or "base"
    return Restored(manifest, head, count, size)


def _require_known(revision: str) -> None:
    try:
        ScriptDirectory.from_config(schema.alembic_config()).get_revision(revision)
    except CommandError:
        raise BackupError(
            f"the backup's schema ({revision}) is newer than this Junta knows: restore it with "
            "the version that made it, or a later one"
        ) from None


async def _require_empty(url: str, roots: files.FileRoots) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            tables = await _tables(connection)
            rows = 0
            for table in tables.values():
                query = select(func.count()).select_from(table)
                rows += (await connection.execute(query)).scalar_one()
    finally:
        await engine.dispose()
    if rows:
        raise BackupError(f"the target database holds {rows} rows: restore into an empty one, or "
                          "pass --replace to drop them", "target_not_empty")
    if not files.is_empty(roots):
        raise BackupError(f"{roots.storage_dir} or {roots.recordings_dir} holds files: restore "
                          "into empty ones, or pass --replace", "target_not_empty")


async def _tables(connection: AsyncConnection) -> dict[str, Table]:
    metadata = MetaData()
    await connection.run_sync(metadata.reflect)
    return {name: t for name, t in metadata.tables.items() if name != VERSION_TABLE}


async def _drop_tables(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            metadata = MetaData()
            await connection.run_sync(metadata.reflect)
            await connection.run_sync(metadata.drop_all)
    finally:
        await engine.dispose()


async def _load(
    path: Path,
    key: bytes | None,
    manifest: Manifest,
    connection: AsyncConnection,
    tables: dict[str, Table],
    roots: files.FileRoots,
    progress: Progress,
) -> tuple[int, int]:
    listed = {e.path: (e.sha256, e.size) for e in manifest.files}
    count = size = 0
    with open_backup(path, key) as stream:
        for member, data in archive.members(stream):
            if member == NAME:
                continue
            if member.startswith(TABLES_DIR) and member.endswith(_TABLE_SUFFIX):
                name = member[len(TABLES_DIR):-len(_TABLE_SUFFIX)]
                if name not in tables:
                    raise BackupError(f"the schema {manifest.revision} has no table {name}")
                reader = archive.HashingReader(data)
                rows = await load_table(connection, tables[name], reader)  # type: ignore[arg-type]
                archive.copy_hashed(reader)  # whatever gzip left unread
                progress(f"table {name}: {rows} rows")
                found = (reader.digest.hexdigest(), reader.size)
            else:
                found = _put_file(data, files.restored_path(member, roots))
                count += 1
                size += found[1]
            # verify() matched these bytes already; a file changed since is caught here.
            if listed.get(member) != found:
                raise BackupError(f"{member} changed since the backup was checked",
                                  "backup_damaged")
    progress(f"files: {count}, {size / 2**20:.1f} MiB")
    return count, size


def _put_file(data: IO[bytes], target: Path) -> tuple[str, int]:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".restore-")
    try:
        with os.fdopen(fd, "wb") as out:
            found = archive.copy_hashed(data, out.write)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return found


async def _reset_sequences(connection: AsyncConnection, tables: dict[str, Table]) -> None:
    """PostgreSQL: the next generated id of each table comes after the loaded ones."""
    if connection.dialect.name != "postgresql":
        return  # SQLite's next rowid is always past the largest
    quote = connection.dialect.identifier_preparer.quote
    for table in tables.values():
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer):
            continue
        column = keys[0].name
        sequence = (await connection.execute(
            text("SELECT pg_get_serial_sequence(:table, :column)"),
            {"table": table.name, "column": column},
        )).scalar()
        if sequence is not None:
            await connection.execute(
                text(f"SELECT setval(:sequence, COALESCE((SELECT MAX({quote(column)}) FROM "
                     f"{quote(table.name)}), 0) + 1, false)"),
                {"sequence": sequence},
            )
