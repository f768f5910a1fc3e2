"""Which files a backup holds and where a restore puts them back.

Attachments: every file of the content-addressed store (`<storage>/sha256/ab/cd/<digest>`), as
`attachments/sha256/...`. Recordings: the directories of the recordings the database calls
complete or interrupted (a recording still in progress has only `.part` files), as
`recordings/<id>/<file>`. Where a recording's directory is comes from the recorder's layout,
handed in by the composition root (`RecordingDirectory`), like `casebook.recording_files`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from casebook.backup.errors import BackupError
from casebook.backup.manifest import ATTACHMENTS_DIR, RECORDINGS_DIR

RecordingDirectory = Callable[[str], Path]
STORE = "sha256"
KEPT_STATUSES = ("complete", "interrupted")


@dataclass(frozen=True)
class FileRoots:
    """Where a deployment keeps its files (JUNTA_STORAGE_DIR, JUNTA_RECORDINGS_DIR)."""

    storage_dir: Path
    recordings_dir: Path
    recording_directory: RecordingDirectory


@dataclass
class Expected:
    """What the database snapshot says must be on disk."""

    attachments: set[str] = field(default_factory=set)  # SHA-256 digests
    recordings: list[str] = field(default_factory=list)  # ids of recordings with files
    tracks: dict[tuple[str, str], str] = field(default_factory=dict)  # (id, file) → SHA-256


async def expected(connection: AsyncConnection, *, recordings: bool) -> Expected:
    """The files the snapshot's rows refer to."""
    found = Expected()
    found.attachments = set((await connection.execute(text("SELECT sha256 FROM attachments")))
                            .scalars())
    if recordings:
        statuses = ", ".join(f"'{s}'" for s in KEPT_STATUSES)
        query = text(f"SELECT id FROM recordings WHERE status IN ({statuses}) ORDER BY id")
        found.recordings = list((await connection.execute(query)).scalars())
        tracks = await connection.execute(
            text("SELECT recording_id, file, sha256 FROM recording_tracks")
        )
        found.tracks = {(r, f): h for r, f, h in tracks}
    return found


def attachment_files(storage_dir: Path) -> Iterator[tuple[str, Path]]:
    """Every stored attachment: its archive path and its file."""
    store = storage_dir / STORE
    if not store.is_dir():
        return
    for path in sorted(store.rglob("*")):
        if path.is_file():
            yield f"{ATTACHMENTS_DIR}{path.relative_to(storage_dir).as_posix()}", path


def recording_files(roots: FileRoots, recording_id: str) -> Iterator[tuple[str, Path]]:
    """A recording's finished files (no `.part`): archive path and file."""
    directory = roots.recording_directory(recording_id)
    for path in sorted(directory.rglob("*")):
        if path.is_file() and not path.name.endswith(".part"):
            relative = path.relative_to(directory).as_posix()
            yield f"{RECORDINGS_DIR}{recording_id}/{relative}", path


def restored_path(member: str, roots: FileRoots) -> Path:
    """Where the archive member `member` (a file) goes on restore."""
    parts = PurePosixPath(member).parts
    if member.startswith(ATTACHMENTS_DIR) and len(parts) == 5 and parts[1] == STORE:
        return roots.storage_dir.joinpath(*parts[1:])
    if member.startswith(RECORDINGS_DIR) and len(parts) >= 3:
        return roots.recording_directory(parts[1]).joinpath(*parts[2:])
    raise BackupError(f"the backup holds an unexpected member {member!r}", "backup_damaged")


def is_empty(roots: FileRoots) -> bool:
    """True when neither an attachment nor a recording is stored under `roots`."""
    stored = roots.storage_dir / STORE
    if stored.is_dir() and any(p.is_file() for p in stored.rglob("*")):
        return False
    return not (roots.recordings_dir.is_dir() and any(roots.recordings_dir.iterdir()))
