"""What the casebook needs of a recording's files, as a port the composition root fills.

The recorder (`media.recording`) owns the file layout and the manifest format; the casebook
imports nothing of ours (docs/architecture.md), so it states here the shape it reads and the two
operations it needs, and `web.calls.recording_files` adapts the recorder to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from casebook.errors import CasebookError


class RecordedTrack(Protocol):
    """One file of a finished recording, as its manifest describes it."""

    @property
    def track_id(self) -> str: ...
    @property
    def publisher_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def codec(self) -> str: ...
    @property
    def stream_id(self) -> str: ...
    @property
    def file(self) -> str: ...
    @property
    def start_offset(self) -> float: ...
    @property
    def duration(self) -> float: ...
    @property
    def frames(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def sha256(self) -> str: ...


class RecordedManifest(Protocol):
    """What a recorder reports when a recording ends (or is put together after a crash)."""

    @property
    def recording_id(self) -> str: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def ended_at(self) -> datetime: ...
    @property
    def tracks(self) -> Sequence[RecordedTrack]: ...
    @property
    def interrupted(self) -> bool: ...


class RecoveryFailed(CasebookError):
    """A recording's files could not be put together after its recorder died."""

    def __init__(self, reason: str) -> None:
        super().__init__("recovery_failed", reason)


class RecordingFiles(Protocol):
    """Where recordings' files are, and recovery of one whose recorder died."""

    def directory(self, recording_id: str) -> Path:
        """The folder holding a recording's track files and manifest."""
        ...

    def recover(self, recording_id: str) -> RecordedManifest:
        """Finish what a dead recorder wrote (blocking file work); `RecoveryFailed` if it can't."""
        ...


@dataclass(frozen=True)
class EmptyManifest:
    """A recording nothing could be recovered from: interrupted, without tracks."""

    recording_id: str
    started_at: datetime
    ended_at: datetime
    tracks: tuple[RecordedTrack, ...] = ()
    interrupted: bool = True
