"""`junta backup`: one consistent archive of the database, the attachments and (unless left
out) the recordings, written under a hidden temporary name and renamed once complete.

The database is read first, in one snapshot; the files it refers to are copied after it, from
the content-addressed store (never changed in place) and from finished recordings, so every
file a restored row names is in the archive. Files added after the snapshot may come along too;
a restore keeps them as unreferenced files.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from casebook.backup import files, snapshot
from casebook.backup.archive import ArchiveWriter
from casebook.backup.crypto import EncryptingWriter
from casebook.backup.errors import BackupError
from casebook.backup.manifest import NAME, Entry, Manifest, table_member
from casebook.backup.tables import dump_table
from casebook.db import is_sqlite

Progress = Callable[[str], None]
PREFIX = "junta-backup-"
_NAME = re.compile(r"junta-backup-(\d{8}T\d{6}Z)\.tar(\.enc)?")
_STAMP = "%Y%m%dT%H%M%SZ"
_PROGRESS_SECONDS = 2.0


@dataclass(frozen=True)
class Written:
    """A finished backup: where it is, what it holds, what looked wrong but did not stop it."""

    path: Path
    manifest: Manifest
    warnings: list[str] = field(default_factory=list)


def backup_name(created: datetime, *, encrypted: bool) -> str:
    """The file name of a backup made at `created`."""
    return f"{PREFIX}{created.astimezone(UTC).strftime(_STAMP)}.tar{'.enc' if encrypted else ''}"


def _destination(dest_dir: Path, name: str) -> Path:
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / name
    if final.exists():
        raise BackupError(f"{final} exists already (one backup per second)")
    return final


def _quiet(_message: str) -> None:
    pass


async def write_backup(
    url: str,
    roots: files.FileRoots,
    dest_dir: Path,
    *,
    recordings: bool = True,
    key: bytes | None = None,
    progress: Progress = _quiet,
) -> Written:
    """Back up the deployment into a new archive in `dest_dir`."""
    created = datetime.now(UTC).replace(microsecond=0)
    final = _destination(dest_dir, backup_name(created, encrypted=key is not None))
    partial = dest_dir / f".{final.name}.partial"
    try:
        with (
            tempfile.TemporaryDirectory(dir=dest_dir, prefix=".work-") as work,
            partial.open("xb") as raw,
        ):
            manifest, warnings = await _write(
                url, roots, Path(work), raw, created, recordings, key, progress
            )
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, final)
        _sync_directory(dest_dir)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return Written(final, manifest, warnings)


async def _write(
    url: str,
    roots: files.FileRoots,
    work: Path,
    raw: IO[bytes],
    created: datetime,
    recordings: bool,
    key: bytes | None,
    progress: Progress,
) -> tuple[Manifest, list[str]]:
    sink = EncryptingWriter(raw, key) if key is not None else raw
    archive = ArchiveWriter(sink)  # type: ignore[arg-type]
    entries: list[Entry] = []
    counts: dict[str, int] = {}
    async with snapshot.snapshot(url, work) as connection:
        revision = await snapshot.revision(connection)
        tables = await snapshot.tables(connection)
        for number, table in enumerate(tables, 1):
            spool = work / "table.jsonl.gz"
            counts[table.name] = await dump_table(connection, table, spool)
            entries.append(archive.add_file(table_member(table.name), spool))
            progress(f"table {number}/{len(tables)} {table.name}: {counts[table.name]} rows")
        wanted = await files.expected(connection, recordings=recordings)
    entries += _copy_attachments(archive, roots, wanted, progress)
    warnings: list[str] = []
    if recordings:
        entries += _copy_recordings(archive, roots, wanted, warnings, progress)
    manifest = Manifest(
        created_at=created.isoformat(),
        revision=revision,
        backend="sqlite" if is_sqlite(url) else "postgresql",
        recordings=recordings,
        tables=counts,
        files=tuple(entries),
    )
    archive.add_bytes(NAME, manifest.to_json())
    archive.close()
    if isinstance(sink, EncryptingWriter):
        sink.close()
    return manifest, warnings


def _copy_attachments(
    archive: ArchiveWriter, roots: files.FileRoots, wanted: files.Expected, progress: Progress
) -> list[Entry]:
    entries = []
    meter = _Meter("attachments", progress)
    for member, path in files.attachment_files(roots.storage_dir):
        entry = archive.add_file(member, path)
        if entry.sha256 != path.name:
            raise BackupError(f"the stored attachment {path} does not match its SHA-256 (damaged "
                              "on disk): restore it from an earlier backup")
        entries.append(entry)
        meter.add(entry.size)
    meter.done()
    missing = wanted.attachments - {Path(e.path).name for e in entries}
    if missing:
        raise BackupError(f"{len(missing)} attachment(s) the database refers to are missing from "
                          f"{roots.storage_dir}: {', '.join(sorted(missing)[:3])}")
    return entries


def _copy_recordings(
    archive: ArchiveWriter,
    roots: files.FileRoots,
    wanted: files.Expected,
    warnings: list[str],
    progress: Progress,
) -> list[Entry]:
    entries = []
    meter = _Meter("recordings", progress)
    for recording_id in wanted.recordings:
        if not roots.recording_directory(recording_id).is_dir():
            warnings.append(f"recording {recording_id} has no files (left out)")
            continue
        for member, path in files.recording_files(roots, recording_id):
            entry = archive.add_file(member, path)
            relative = member.split("/", 2)[2]
            expected = wanted.tracks.get((recording_id, relative))
            if expected is not None and expected != entry.sha256:
                raise BackupError(f"the recording file {path} does not match its SHA-256 in the "
                                  "database (damaged on disk)")
            entries.append(entry)
            meter.add(entry.size)
    meter.done()
    return entries


class _Meter:
    """Progress of a long copy, told at most every couple of seconds."""

    def __init__(self, what: str, progress: Progress) -> None:
        self._what = what
        self._progress = progress
        self._files = 0
        self._bytes = 0
        self._told = time.monotonic()

    def add(self, size: int) -> None:
        self._files += 1
        self._bytes += size
        if time.monotonic() - self._told >= _PROGRESS_SECONDS:
            self._told = time.monotonic()
            self._tell()

    def done(self) -> None:
        self._tell()

    def _tell(self) -> None:
        self._progress(f"{self._what}: {self._files} files, {self._bytes / 2**20:.1f} MiB")


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def expired(dest_dir: Path, keep_days: int, now: datetime) -> Iterator[Path]:
    """The backups in `dest_dir` made more than `keep_days` days before `now` (by their name),
    and temporary files of interrupted backups older than a day."""
    limit = now - timedelta(days=keep_days)
    for path in sorted(dest_dir.iterdir()):
        match = _NAME.fullmatch(path.name)
        if match:
            made = datetime.strptime(match.group(1), _STAMP).replace(tzinfo=UTC)
            if made < limit:
                yield path
        elif (
            path.name.startswith(f".{PREFIX}")
            and path.name.endswith(".partial")
            and path.stat().st_mtime < (now - timedelta(days=1)).timestamp()
        ):
            yield path


def prune(dest_dir: Path, keep_days: int, now: datetime | None = None) -> list[Path]:
    """Delete the backups `expired` names; returns what was deleted."""
    gone = list(expired(dest_dir, keep_days, now or datetime.now(UTC)))
    for path in gone:
        path.unlink()
    return gone
