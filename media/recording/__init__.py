"""The recorder: a room's published tracks written, still encoded, one file per track.

See `recorder.py` for how a room is recorded, `track_file.py` for the files, `manifest.py` for
what a recording holds and `recovery.py` for recordings a crash cut short.
"""

from media.recording.manifest import (
    RecordedTrack,
    RecordingManifest,
    read_manifest,
    recording_directory,
    validate_recording_id,
)
from media.recording.recorder import RoomRecording
from media.recording.recovery import recover_interrupted, unfinished_recordings

__all__ = [
    "RecordedTrack",
    "RecordingManifest",
    "RoomRecording",
    "read_manifest",
    "recording_directory",
    "recover_interrupted",
    "unfinished_recordings",
    "validate_recording_id",
]
