"""`junta backup` and `junta restore`: the commands parse, wire the settings in and print;
the work is `casebook.backup`'s.

    junta backup DEST [--no-recordings] [--key FILE] [--keep-days N]
    junta backup --verify SRC [--key FILE]
    junta backup --new-key FILE
    junta restore SRC [--key FILE] [--replace]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from casebook.backup import crypto, reader, writer
from casebook.backup.errors import BackupError
from casebook.backup.files import FileRoots
from web.app.settings import Settings
from web.calls.recording_files import recorder_files


def add_commands(commands: Any) -> None:
    """The `backup` and `restore` commands (on `junta`'s subparsers)."""
    backup = commands.add_parser(
        "backup", help="write one consistent backup into DEST (a folder), or check one"
    )
    backup.add_argument("path", nargs="?", type=Path, metavar="DEST|SRC")
    backup.add_argument(
        "--verify", action="store_true", help="check the backup SRC without restoring it"
    )
    backup.add_argument(
        "--no-recordings", action="store_true",
        help="the database and attachments only (recordings have their own retention)",
    )
    backup.add_argument("--key", type=Path, help="encrypt with (or open with) this key file")
    backup.add_argument(
        "--keep-days", type=int, help="then delete the backups in DEST older than N days"
    )
    backup.add_argument(
        "--new-key", type=Path, metavar="FILE", help="write a new random key file and stop"
    )
    restore = commands.add_parser(
        "restore", help="restore a backup into an empty database and storage"
    )
    restore.add_argument("path", type=Path, metavar="SRC")
    restore.add_argument("--key", type=Path, help="the key file of an encrypted backup")
    restore.add_argument(
        "--replace", action="store_true",
        help="drop the target's tables first, and write over its files",
    )


def run(settings: Settings, args: argparse.Namespace) -> None:
    """Carry out `junta backup …` or `junta restore …`; raises BackupError for the user."""
    if args.command == "restore":
        _restore(settings, args)
    elif args.new_key is not None:
        crypto.new_key_file(args.new_key)
        print(f"wrote a new backup key to {args.new_key}: keep a copy away from the backups")
    elif args.path is None:
        raise BackupError("say where: junta backup DEST, or junta backup --verify SRC")
    elif args.verify:
        started = time.monotonic()
        manifest = reader.verify(args.path, _key(args), _say)
        print(f"{args.path} is whole: {len(manifest.files)} files, "
              f"{manifest.total_bytes / 2**20:.1f} MiB, {sum(manifest.tables.values())} rows, "
              f"schema {manifest.revision}, made {manifest.created_at} "
              f"({time.monotonic() - started:.1f} s)")
    else:
        _backup(settings, args)


def roots(settings: Settings) -> FileRoots:
    """Where this deployment keeps its attachments and recordings."""
    recordings = recorder_files(settings)
    return FileRoots(settings.storage_dir, settings.recordings_dir, recordings.directory)


def _key(args: argparse.Namespace) -> bytes | None:
    return None if args.key is None else crypto.read_key(args.key)


def _say(message: str) -> None:
    print(f"  {message}", flush=True)


def _backup(settings: Settings, args: argparse.Namespace) -> None:
    if args.keep_days is not None and args.keep_days < 1:
        raise BackupError("--keep-days must be at least 1")
    started = time.monotonic()
    written = asyncio.run(writer.write_backup(
        settings.database_url, roots(settings), args.path,
        recordings=not args.no_recordings, key=_key(args), progress=_say,
    ))
    for warning in written.warnings:
        print(f"  warning: {warning}")
    manifest = written.manifest
    print(f"wrote {written.path}: {sum(manifest.tables.values())} rows, {len(manifest.files)} "
          f"files, {written.path.stat().st_size / 2**20:.1f} MiB, schema {manifest.revision} "
          f"({time.monotonic() - started:.1f} s)")
    if args.keep_days is not None:
        for gone in writer.prune(args.path, args.keep_days):
            print(f"deleted {gone.name} (older than {args.keep_days} days)")


def _restore(settings: Settings, args: argparse.Namespace) -> None:
    started = time.monotonic()
    restored = asyncio.run(reader.restore(
        args.path, settings.database_url, roots(settings), key=_key(args),
        replace=args.replace, secret_key=settings.secret_key, progress=_say,
    ))
    manifest = restored.manifest
    print(f"restored {args.path} (made {manifest.created_at} on {manifest.backend}): "
          f"{sum(manifest.tables.values())} rows in {len(manifest.tables)} tables, "
          f"{restored.files} files ({restored.bytes / 2**20:.1f} MiB), schema "
          f"{manifest.revision} → {restored.revision} ({time.monotonic() - started:.1f} s)")
    if not manifest.recordings:
        print("  this backup holds no recordings: their rows are back, their files are not")
