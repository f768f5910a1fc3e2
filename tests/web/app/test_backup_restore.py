"""Restores that must refuse, and restores across backends (issue 27): a damaged or cut-short
backup is refused before anything is written; SQLite → PostgreSQL → SQLite keeps every row and
file; every column type the dump carries comes back exactly on either backend; an encrypted
backup needs its key."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    select,
)

from casebook.backup import crypto, reader, writer
from casebook.backup.errors import BackupError
from casebook.backup.files import FileRoots
from casebook.backup.tables import dump_table, load_table
from casebook.db import create_engine
from tests.conftest import (
    create_postgres_database,
    drop_postgres_database,
    postgres_available,
    postgres_url,
)
from tests.services import require
from tests.web.app.backup_network import all_files, all_rows

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _roots(folder: Path) -> FileRoots:
    return FileRoots(folder / "storage", folder / "recordings", lambda r: folder / "recordings" / r)


def _deployment(folder: Path, template: Path) -> tuple[str, FileRoots]:
    """A SQLite copy of the demo network with one stored file and one recording's files."""
    folder.mkdir()
    shutil.copyfile(template, folder / "junta.db")
    roots = _roots(folder)
    digest = hashlib.sha256(PDF).hexdigest()
    stored = roots.storage_dir / "sha256" / digest[:2] / digest[2:4] / digest
    stored.parent.mkdir(parents=True)
    stored.write_bytes(PDF)
    return f"sqlite+aiosqlite:///{folder / 'junta.db'}", roots


@pytest.fixture
async def postgres_target() -> AsyncIterator[str]:
    require(postgres_available(), "PostgreSQL at 127.0.0.1:5432")
    name = await create_postgres_database()
    try:
        yield postgres_url(name)
    finally:
        await drop_postgres_database(name)


async def test_sqlite_to_postgresql_and_back_keeps_everything(
    tmp_path: Path, demo_templates: object, postgres_target: str
) -> None:
    source_url, source_roots = _deployment(tmp_path / "a", demo_templates.sqlite())  # type: ignore[attr-defined]
    first = await writer.write_backup(source_url, source_roots, tmp_path / "backups")
    assert first.manifest.backend == "sqlite"
    middle_roots = _roots(tmp_path / "b")
    await reader.restore(first.path, postgres_target, middle_roots, key=None)
    assert await all_rows(postgres_target) == await all_rows(source_url)
    second = await writer.write_backup(postgres_target, middle_roots, tmp_path / "backups2")
    assert second.manifest.backend == "postgresql"
    assert second.manifest.tables == first.manifest.tables
    final_url = f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"
    final_roots = _roots(tmp_path / "c")
    await reader.restore(second.path, final_url, final_roots, key=None)
    assert await all_rows(final_url) == await all_rows(source_url)
    relative = {Path(p).relative_to(tmp_path / "a"): h
                for p, h in all_files(source_roots.storage_dir).items()}
    assert {Path(p).relative_to(tmp_path / "c"): h
            for p, h in all_files(final_roots.storage_dir).items()} == relative


async def test_a_damaged_or_cut_backup_is_refused_and_nothing_is_written(
    tmp_path: Path, demo_templates: object
) -> None:
    source_url, source_roots = _deployment(tmp_path / "a", demo_templates.sqlite())  # type: ignore[attr-defined]
    written = await writer.write_backup(source_url, source_roots, tmp_path / "backups")
    whole = written.path.read_bytes()
    flipped = bytearray(whole)
    flipped[whole.index(PDF) + 3] ^= 1  # one bit of the attachment
    damaged = {
        "cut short": whole[: len(whole) // 2],
        "ends before its manifest": whole[: whole.rindex(b"manifest.json")],  # its header
        "does not match its SHA-256": bytes(flipped),
    }
    target_db = tmp_path / "target.db"
    target_roots = _roots(tmp_path / "target")
    for expected, content in damaged.items():
        bad = tmp_path / "bad.tar"
        bad.write_bytes(content)
        with pytest.raises(BackupError, match=expected):
            reader.verify(bad, None)
        with pytest.raises(BackupError, match=expected):
            await reader.restore(bad, f"sqlite+aiosqlite:///{target_db}", target_roots, key=None)
        assert not target_db.exists()
        assert not (tmp_path / "target").exists()


async def test_an_encrypted_backup_opens_only_with_its_key(
    tmp_path: Path, demo_templates: object
) -> None:
    source_url, source_roots = _deployment(tmp_path / "a", demo_templates.sqlite())  # type: ignore[attr-defined]
    crypto.new_key_file(tmp_path / "backup.key")
    key = crypto.read_key(tmp_path / "backup.key")
    assert oct((tmp_path / "backup.key").stat().st_mode & 0o777) == "0o600"
    written = await writer.write_backup(source_url, source_roots, tmp_path / "backups", key=key)
    assert written.path.name.endswith(".tar.enc") and PDF not in written.path.read_bytes()
    with pytest.raises(BackupError, match="is encrypted: give its key file"):
        reader.verify(written.path, None)
    with pytest.raises(BackupError, match="does not open with this key"):
        reader.verify(written.path, bytes(32))
    assert reader.verify(written.path, key).tables == written.manifest.tables
    target = f"sqlite+aiosqlite:///{tmp_path / 'target.db'}"
    await reader.restore(written.path, target, _roots(tmp_path / "t"), key=key)
    assert await all_rows(target) == await all_rows(source_url)
    with pytest.raises(BackupError, match="target database holds"):
        await reader.restore(written.path, target, _roots(tmp_path / "t"), key=key)


# Stored in UTC, as the casebook's UTCDateTime stores every timestamp.
SAMPLES = [
    (1, datetime(2026, 3, 1, 12, 30, 0, 123456, tzinfo=UTC), b"\x00\xff\x80binary",
     {"nested": [1, 2.5, "x", None], "big": 2**62}, 2**62 + 7, 0.1 + 0.2),
    (2, datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), b"", {}, -(2**63), 1e-300),
    (3, None, None, None, None, None),
]


def _scratch(metadata: MetaData) -> Table:
    return Table(
        "backup_types", metadata,
        Column("id", Integer, primary_key=True),
        Column("at", DateTime(timezone=True)),
        Column("blob", LargeBinary),
        Column("doc", JSON),
        Column("big", BigInteger),
        Column("ratio", Float(precision=53)),
    )


async def _table_with(url: str, rows: list[tuple[object, ...]]) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            table = _scratch(MetaData())
            await connection.run_sync(table.metadata.create_all)
            if rows:
                await connection.execute(table.insert(), [dict(zip(table.c.keys(), r, strict=True))
                                                          for r in rows])
    finally:
        await engine.dispose()


async def test_every_column_type_round_trips_between_sqlite_and_postgresql(
    tmp_path: Path, postgres_target: str
) -> None:
    sqlite_url = f"sqlite+aiosqlite:///{tmp_path / 'types.db'}"
    back_url = f"sqlite+aiosqlite:///{tmp_path / 'back.db'}"
    await _table_with(sqlite_url, SAMPLES)
    await _table_with(postgres_target, [])
    await _table_with(back_url, [])
    for source, target in ((sqlite_url, postgres_target), (postgres_target, back_url)):
        await _copy_table(source, target, tmp_path / "rows.jsonl.gz")
        assert await _read(target) == await _read(sqlite_url)
    assert await _read(postgres_target) == SAMPLES


async def _copy_table(source: str, target: str, spool: Path) -> None:
    for url, step in ((source, "dump"), (target, "load")):
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                metadata = MetaData()
                await connection.run_sync(metadata.reflect)
                table = metadata.tables["backup_types"]
                if step == "dump":
                    await dump_table(connection, table, spool)
                else:
                    with spool.open("rb") as member:
                        await load_table(connection, table, member)
        finally:
            await engine.dispose()


async def _read(url: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            table = _scratch(MetaData())
            rows = (await connection.execute(select(table).order_by(table.c.id))).all()
    finally:
        await engine.dispose()
    # SQLite hands back naive timestamps; as stored they are UTC (casebook.models.base).
    return [tuple(v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None
                  else v for v in row) for row in rows]
