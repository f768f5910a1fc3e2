"""What a finished (or recovered) recording holds: its tracks, their files and start offsets.

The manifest is the recording's table of contents, written as `manifest.json` next to the track
files once the recording is complete; the library stores it and the player uses the offsets to
start every track at the right moment.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from media.errors import MediaError

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1

# Recording ids become directory names: letters, digits, '-' and '_' only (UUIDs, integers),
# so no id can climb out of the storage root or clash with a hidden or temporary file.
_RECORDING_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


@dataclass(frozen=True)
class RecordedTrack:
    """One file of a recording: one published track, from when it started being recorded."""

    track_id: str
    publisher_id: str
    kind: Literal["audio", "video"]
    codec: str
    stream_id: str
    file: str  # relative to the recording's directory
    start_offset: float  # seconds from the recording's start to this file's first frame
    duration: float
    frames: int
    size: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        """This track as JSON."""
        return {
            "track_id": self.track_id,
            "publisher_id": self.publisher_id,
            "kind": self.kind,
            "codec": self.codec,
            "stream_id": self.stream_id,
            "file": self.file,
            "start_offset": self.start_offset,
            "duration": self.duration,
            "frames": self.frames,
            "size": self.size,
            "sha256": self.sha256,
        }

    @classmethod
    def from_json(cls, data: Any) -> RecordedTrack:
        """A track from JSON; raises `MediaError('bad_manifest')` if it is not one."""
        try:
            kind = data["kind"]
            if kind not in ("audio", "video"):
                raise ValueError(f"kind {kind!r}")
            return cls(
                track_id=str(data["track_id"]),
                publisher_id=str(data["publisher_id"]),
                kind=kind,
                codec=str(data["codec"]),
                stream_id=str(data["stream_id"]),
                file=_file_name(data["file"]),
                start_offset=float(data["start_offset"]),
                duration=float(data["duration"]),
                frames=int(data["frames"]),
                size=int(data["size"]),
                sha256=str(data["sha256"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MediaError("bad_manifest", f"not a recorded track: {exc}") from exc


@dataclass(frozen=True)
class RecordingManifest:
    """A recording: when it ran, in which room, and the file of every recorded track."""

    recording_id: str
    room_id: str
    started_at: datetime  # aware, UTC
    ended_at: datetime  # aware, UTC
    tracks: tuple[RecordedTrack, ...]
    interrupted: bool
    # Publisher id → the name people knew them by. The media node knows no names: the call
    # layer adds them when the recording completes, so the folder explains itself.
    participants: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The manifest as JSON (what `manifest.json` holds)."""
        return {
            "version": MANIFEST_VERSION,
            "recording_id": self.recording_id,
            "room_id": self.room_id,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat(),
            "interrupted": self.interrupted,
            "participants": dict(self.participants),
            "tracks": [track.to_json() for track in self.tracks],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RecordingManifest:
        """A manifest from JSON; raises `MediaError('bad_manifest')` if it is not one."""
        try:
            return cls(
                recording_id=validate_recording_id(str(data["recording_id"])),
                room_id=str(data["room_id"]),
                started_at=parse_utc(data["started_at"]),
                ended_at=parse_utc(data["ended_at"]),
                tracks=tuple(RecordedTrack.from_json(t) for t in data["tracks"]),
                interrupted=bool(data["interrupted"]),
                participants={
                    str(peer): str(name) for peer, name in data.get("participants", {}).items()
                },
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise MediaError("bad_manifest", f"not a recording manifest: {exc}") from exc


def validate_recording_id(recording_id: str) -> str:
    """Return the id if it is safe as a directory name; `MediaError('bad_recording_id')` if not."""
    if not _RECORDING_ID.fullmatch(recording_id):
        raise MediaError(
            "bad_recording_id",
            "a recording id is 1 to 128 letters, digits, '-' or '_', starting with a letter "
            f"or digit: {recording_id!r:.140}",
        )
    return recording_id


def recording_directory(root: Path, recording_id: str) -> Path:
    """Where a recording's files live: `<root>/<recording_id>` (the id is validated)."""
    return root / validate_recording_id(recording_id)


def parse_utc(value: Any) -> datetime:
    """An ISO 8601 timestamp with a time zone, as an aware UTC datetime."""
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {value!r}")
    return parsed.astimezone(UTC)


def write_manifest(directory: Path, manifest: RecordingManifest) -> Path:
    """Write `manifest.json` atomically (a reader sees the old file or the whole new one)."""
    path = directory / MANIFEST_NAME
    temporary = directory / (MANIFEST_NAME + ".part")
    with open(temporary, "w", encoding="utf-8") as file:
        json.dump(manifest.to_json(), file, indent=2)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    return path


def read_manifest(directory: Path) -> RecordingManifest | None:
    """The recording's `manifest.json`, or None if it has none (still running, or crashed)."""
    path = directory / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise MediaError("bad_manifest", f"{path} is not JSON") from exc
    if not isinstance(data, dict):
        raise MediaError("bad_manifest", f"{path} is not a JSON object")
    return RecordingManifest.from_json(data)


def _file_name(value: Any) -> str:
    # A manifest names files inside its own directory, never a path elsewhere.
    name = str(value)
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise ValueError(f"file {name!r} is not a plain file name")
    return name
