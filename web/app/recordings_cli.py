"""`junta recordings …`: export a recording as one MP4, and purge recordings past retention.

    junta recordings export ID [--layout speaker|grid] [--output FILE.mp4]
    junta recordings purge [--days N]

Both are operator commands run on the server, offline, and both are audited.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from casebook import audit, recordings
from casebook.db import create_engine, session_factory
from casebook.errors import CasebookError
from casebook.models import Recording, RecordingStatus
from casebook.recording_access import WATCHABLE
from media.recording.export import ExportError, ExportTrack, export_mp4, progress_bar
from media.recording.layout import LAYOUTS
from web.app.settings import Settings
from web.calls.recording_files import recorder_files


def add_commands(commands: Any) -> None:
    """The `recordings` command and its actions (on `junta`'s subparsers)."""
    parser = commands.add_parser("recordings", help="export and purge recordings")
    actions = parser.add_subparsers(dest="recordings_command", metavar="ACTION", required=True)
    export = actions.add_parser(
        "export", help="compose one MP4 (H.264/AAC) from a recording's tracks, for sharing"
    )
    export.add_argument("recording_id", metavar="ID", help="the recording's id")
    export.add_argument(
        "--layout", choices=LAYOUTS, default="speaker",
        help="speaker: the main video large, the others beside it; grid: equal tiles",
    )
    export.add_argument("--output", type=Path, help="the MP4 to write (default ID-LAYOUT.mp4)")
    purge = actions.add_parser(
        "purge", help="delete the files of recordings past the retention period (audited)"
    )
    purge.add_argument(
        "--days", type=int, help="retention in days (default JUNTA_RECORDING_RETENTION_DAYS)"
    )


def run(settings: Settings, args: argparse.Namespace) -> None:
    """Carry out `junta recordings …`; raises `CasebookError` with a message for the user."""
    if args.recordings_command == "export":
        output = args.output or Path(f"{args.recording_id}-{args.layout}.mp4")
        written = export(settings, args.recording_id, args.layout, output)
        print(f"exported {written}")
    else:
        days = args.days if args.days is not None else settings.recording_retention_days
        if days < 1:
            raise CasebookError("invalid_days", "--days must be at least 1")
        purged = asyncio.run(_purge(settings, days))
        print(f"deleted the files of {len(purged)} recording(s) older than {days} days")


async def _purge(settings: Settings, days: int) -> list[str]:
    await _upgrade(settings)
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as db:
            purged = await recordings.purge_expired(
                db, recorder_files(settings), retention_days=days
            )
            await db.commit()
            return purged
    finally:
        await engine.dispose()


def export(settings: Settings, recording_id: str, layout: str, output: Path) -> Path:
    """Compose the recording into `output` with a progress bar on standard error; audited."""
    recording, tracks = asyncio.run(_load(settings, recording_id))
    directory = recordings.directory_of(recorder_files(settings), recording)
    parts = [
        ExportTrack(t.kind, directory / t.file, t.start_offset, t.duration) for t in tracks
    ]
    if not output.parent.is_dir():
        raise CasebookError("invalid_output", f"no such directory: {output.parent}")
    try:
        result = export_mp4(
            parts,
            output,
            layout="grid" if layout == "grid" else "speaker",
            duration=recording.duration_seconds,
            progress=progress_bar(sys.stderr),
        )
    except ExportError as error:
        raise CasebookError("export_failed", str(error)) from None
    asyncio.run(_audit_export(settings, recording_id, layout, output))
    return result.path


async def _load(settings: Settings, recording_id: str) -> tuple[Recording, list[Any]]:
    await _upgrade(settings)
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as db:
            recording = await db.get(Recording, recording_id)
            if recording is None:
                raise CasebookError("not_found", f"no recording {recording_id!r}")
            status = RecordingStatus(recording.status)
            if status not in WATCHABLE:
                raise CasebookError(
                    "not_exportable",
                    f"recording {recording_id!r} is {status.value}: only finished recordings "
                    "with their files can be exported",
                )
            return recording, await recordings.tracks_of(db, recording_id)
    finally:
        await engine.dispose()


async def _audit_export(settings: Settings, recording_id: str, layout: str, output: Path) -> None:
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as db:
            await audit.record(
                db, "recording.exported", target_type="recording", target_id=recording_id[:64],
                detail={"layout": layout, "file": output.name},
            )
            await db.commit()
    finally:
        await engine.dispose()


async def _upgrade(settings: Settings) -> None:
    # The whole app (aiortc, socket.io, every page) loads only when a command upgrades.
    from web.app.factory import prepare_database

    await prepare_database(settings)
