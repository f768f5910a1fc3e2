"""Real recording directories for the library's tests, encoded with PyAV like the recorder's.

`write_recording(root, recording_id, room_id, tracks=[...])` writes one WebM file per track
(VP8 video with a moving pattern, Opus audio with a tone) and returns the `RecordingManifest`
the recorder would have produced; the files open, seek and play in Chromium.
"""

from __future__ import annotations

import array
import atexit
import dataclasses
import fractions
import math
import shutil
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

import av

from casebook.clock import utcnow
from media.recording import RecordedTrack, RecordingManifest, recording_directory
from media.recording.track_file import file_digest

SAMPLE_RATE = 48000
OPUS_FRAME = 960  # 20 ms


@dataclass(frozen=True)
class SampleTrack:
    """A track to write: who published it, what, from when and for how long."""

    publisher_id: str
    kind: Literal["audio", "video"]
    start_offset: float
    duration: float
    width: int = 160
    height: int = 120
    fps: int = 15


def _video(path: Path, track: SampleTrack) -> int:
    frames = round(track.duration * track.fps)
    with av.open(str(path), "w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=track.fps)
        stream.width, stream.height, stream.pix_fmt = track.width, track.height, "yuv420p"
        stream.options = {"deadline": "realtime", "cpu-used": "8"}
        for index in range(frames):
            frame = av.VideoFrame(track.width, track.height, "yuv420p")
            for number, plane in enumerate(frame.planes):
                if number == 0:
                    row = bytes((x * 2 + index * 8) & 0xFF for x in range(plane.line_size))
                    plane.update(row * plane.height)
                else:
                    plane.update(bytes([128]) * plane.buffer_size)
            frame.pts = index
            frame.time_base = fractions.Fraction(1, track.fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return frames


def _audio(path: Path, track: SampleTrack) -> int:
    chunks = round(track.duration * SAMPLE_RATE / OPUS_FRAME)
    with av.open(str(path), "w", format="webm") as container:
        stream = container.add_stream("libopus", rate=SAMPLE_RATE)
        stream.layout = "mono"
        for index in range(chunks):
            start = index * OPUS_FRAME
            samples = array.array(
                "h",
                (
                    int(8000 * math.sin(2 * math.pi * 440 * (start + i) / SAMPLE_RATE))
                    for i in range(OPUS_FRAME)
                ),
            )
            frame = av.AudioFrame(format="s16", layout="mono", samples=OPUS_FRAME)
            frame.planes[0].update(samples.tobytes())
            frame.sample_rate = SAMPLE_RATE
            frame.pts = start
            frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return chunks


def write_recording(
    root: Path,
    recording_id: str,
    room_id: str,
    tracks: list[SampleTrack],
    *,
    interrupted: bool = False,
) -> RecordingManifest:
    """Write the tracks' files under the recording's directory; the manifest describing them."""
    directory = recording_directory(root, recording_id)
    directory.mkdir(parents=True, exist_ok=True)
    recorded = []
    for number, track in enumerate(tracks):
        name = f"{number:02d}-{track.publisher_id}-{track.kind}.webm"
        path = directory / name
        frames = _video(path, track) if track.kind == "video" else _audio(path, track)
        size, sha256 = file_digest(path)
        recorded.append(
            RecordedTrack(
                track_id=f"track-{number}",
                publisher_id=track.publisher_id,
                kind=track.kind,
                codec="VP8" if track.kind == "video" else "opus",
                stream_id=f"stream-{track.publisher_id}",
                file=name,
                start_offset=track.start_offset,
                duration=track.duration,
                frames=frames,
                size=size,
                sha256=sha256,
            )
        )
    length = max(t.start_offset + t.duration for t in tracks)
    ended = utcnow()
    return RecordingManifest(
        recording_id=recording_id,
        room_id=room_id,
        started_at=ended - timedelta(seconds=length),
        ended_at=ended,
        tracks=tuple(recorded),
        interrupted=interrupted,
    )


SPEAKER_AND_SCREEN = [
    SampleTrack("peer-lecturer", "video", 0.0, 3.0),
    SampleTrack("peer-lecturer", "audio", 0.0, 3.0),
    SampleTrack("peer-screen", "video", 0.5, 2.5, width=192, height=108),
]


_TEMPLATES: dict[tuple[SampleTrack, ...], tuple[Path, RecordingManifest]] = {}


def copy_sample(
    root: Path,
    recording_id: str,
    room_id: str,
    tracks: list[SampleTrack] = SPEAKER_AND_SCREEN,
    *,
    interrupted: bool = False,
) -> RecordingManifest:
    """Like `write_recording`, but encodes each set of tracks once per test run and copies it."""
    key = tuple(tracks)
    if key not in _TEMPLATES:
        folder = Path(tempfile.mkdtemp(prefix="junta-recording-samples-"))
        atexit.register(shutil.rmtree, folder, True)
        _TEMPLATES[key] = (folder, write_recording(folder, "template", "template", tracks))
    folder, template = _TEMPLATES[key]
    target = recording_directory(root, recording_id)
    shutil.copytree(recording_directory(folder, "template"), target, dirs_exist_ok=True)
    return dataclasses.replace(
        template, recording_id=recording_id, room_id=room_id, interrupted=interrupted
    )
