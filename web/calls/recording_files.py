"""The recorder's file layout and crash recovery (`media.recording`), offered to the casebook
through its `RecordingFiles` port."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from casebook.recording_files import RecordedManifest, RecoveryFailed
from media.errors import MediaError
from media.recording import recording_directory, recover_interrupted
from web.app.settings import Settings


@dataclass(frozen=True)
class RecorderFiles:
    """Recordings under `root`, laid out as the recorder writes them."""

    root: Path

    def directory(self, recording_id: str) -> Path:
        return recording_directory(self.root, recording_id)

    def recover(self, recording_id: str) -> RecordedManifest:
        try:
            return recover_interrupted(self.directory(recording_id))
        except (MediaError, OSError) as error:
            raise RecoveryFailed(str(error)) from error


def recorder_files(settings: Settings) -> RecorderFiles:
    """The recordings of this deployment (`JUNTA_RECORDINGS_DIR`)."""
    return RecorderFiles(settings.recordings_dir)
