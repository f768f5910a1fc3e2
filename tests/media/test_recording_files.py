"""Track files, manifests and recovery without a network: PyAV-encoded test media is muxed
as the recorder would mux tapped frames, and a crash is a subprocess that dies mid-file."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import av
import pytest

from media.errors import MediaError
from media.frames import EncodedFrame
from media.recording import (
    RecordedTrack,
    RecordingManifest,
    read_manifest,
    recording_directory,
    recover_interrupted,
)
from media.recording.journal import Journal, read_journal
from media.recording.track_file import TrackFile, vp8_dimensions
from tests.media.peers import encoded_opus, encoded_video

CLOCK = {"VP8": 90000, "H264": 90000, "opus": 48000}


def write_track(directory: Path, name: str, codec: str, frames: list[EncodedFrame]) -> TrackFile:
    track_file = TrackFile(directory, name, codec, CLOCK[codec], frames[0].data)
    for frame in frames:
        track_file.write(frame.timestamp, frame.data, frame.keyframe)
    return track_file


@pytest.mark.parametrize(
    ("codec", "name", "count", "seconds"),
    [
        ("VP8", "v.webm", 90, 3.0),
        ("H264", "v.mkv", 90, 3.0),
        ("opus", "a.webm", 150, 3.0),
    ],
)
def test_encoded_frames_become_a_complete_file_without_reencoding(
    tmp_path: Path, codec: str, name: str, count: int, seconds: float
) -> None:
    frames = encoded_opus(count) if codec == "opus" else encoded_video(codec, count)
    track_file = write_track(tmp_path, name, codec, frames)
    assert (tmp_path / (name + ".part")).exists() and not (tmp_path / name).exists()

    finished = track_file.finish()

    path = tmp_path / name
    assert not (tmp_path / (name + ".part")).exists()
    data = path.read_bytes()
    assert (finished.size, finished.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert finished.frames == count
    assert finished.duration == pytest.approx(seconds, abs=0.001)
    with av.open(str(path)) as container:
        assert container.duration is not None
        assert container.duration / 1_000_000 == pytest.approx(seconds, abs=0.02)
        packets = [p for p in container.demux(container.streams[0]) if p.pts is not None]
    assert len(packets) == count
    if codec != "H264":  # Matroska stores H.264 length-prefixed, not Annex-B
        # The very bytes the SFU tapped, one packet per frame.
        assert [bytes(p) for p in packets] == [f.data for f in frames]
    with av.open(str(path)) as container:
        decoded = list(container.decode(container.streams[0]))
    assert len(decoded) >= count - 2
    if codec != "opus":
        first = decoded[0]
        assert isinstance(first, av.VideoFrame)
        assert (first.width, first.height) == (320, 240)


def test_vp8_dimensions_come_from_keyframes_only() -> None:
    frames = encoded_video("VP8", 2)
    assert vp8_dimensions(frames[0].data) == (320, 240)
    assert vp8_dimensions(frames[1].data) is None


CRASHING_WRITER = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from media.recording.journal import Journal
    from media.recording.track_file import TrackFile
    from tests.media.peers import encoded_video

    directory = Path(sys.argv[1])
    directory.mkdir()
    journal = Journal(directory)
    journal.append({"type": "recording", "recording_id": "cut", "room_id": "r",
                    "started_at": "2026-01-02T03:04:05+00:00"})
    frames = encoded_video("VP8", 150)  # five seconds
    journal.append({"type": "track", "file": "v.webm", "track_id": "p/1/0",
                    "publisher_id": "p", "kind": "video", "codec": "VP8", "stream_id": "s",
                    "clock_rate": 90000, "start_offset": 0.25})
    track_file = TrackFile(directory, "v.webm", "VP8", 90000, frames[0].data)
    for frame in frames:
        track_file.write(frame.timestamp, frame.data, frame.keyframe)
    os._exit(0)  # dies like SIGKILL: no close, no trailer, buffers lost
    """
)


def test_a_file_cut_off_by_a_crash_is_recovered_up_to_its_last_cluster(tmp_path: Path) -> None:
    directory = tmp_path / "cut"
    subprocess.run(
        [sys.executable, "-c", CRASHING_WRITER, str(directory)],
        check=True,
        cwd=Path(__file__).parents[2],
    )
    assert (directory / "v.webm.part").exists()

    manifest = recover_interrupted(directory)

    assert manifest.interrupted
    (track,) = manifest.tracks
    assert (track.file, track.kind, track.start_offset) == ("v.webm", "video", 0.25)
    assert 3.0 <= track.duration <= 5.0
    assert manifest.started_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert (manifest.ended_at - manifest.started_at).total_seconds() == pytest.approx(
        0.25 + track.duration
    )
    data = (directory / "v.webm").read_bytes()
    assert track.sha256 == hashlib.sha256(data).hexdigest()
    with av.open(str(directory / "v.webm")) as container:
        assert sum(1 for _ in container.decode(video=0)) >= track.frames - 2
    assert read_manifest(directory) == manifest


def test_recovering_without_a_journal_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as error:
        recover_interrupted(tmp_path)
    assert error.value.code == "recording_not_found"


def test_a_journal_line_cut_short_by_a_crash_is_skipped(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.append({"type": "recording", "recording_id": "x"})
    journal.close()
    with open(tmp_path / "journal.jsonl", "a") as file:
        file.write('{"type": "tra')
    assert read_journal(tmp_path) == [{"type": "recording", "recording_id": "x"}]


def manifest() -> RecordingManifest:
    track = RecordedTrack(
        track_id="p/1/0",
        publisher_id="p",
        kind="video",
        codec="VP8",
        stream_id="s",
        file="track-001-video.webm",
        start_offset=0.1,
        duration=2.5,
        frames=75,
        size=1000,
        sha256="0" * 64,
    )
    return RecordingManifest(
        recording_id="rec-1",
        room_id="room",
        started_at=datetime(2026, 1, 1, 10, 0, tzinfo=UTC),
        ended_at=datetime(2026, 1, 1, 10, 3, tzinfo=UTC),
        tracks=(track,),
        interrupted=False,
    )


def test_a_manifest_round_trips_through_json() -> None:
    original = manifest()
    assert RecordingManifest.from_json(original.to_json()) == original


@pytest.mark.parametrize(
    ("field", "value"),
    [("file", "../../etc/passwd"), ("kind", "screen"), ("duration", "long")],
)
def test_a_manifest_with_a_bad_track_is_refused(field: str, value: str) -> None:
    data = manifest().to_json()
    data["tracks"][0][field] = value
    with pytest.raises(MediaError) as error:
        RecordingManifest.from_json(data)
    assert error.value.code == "bad_manifest"


def test_a_manifest_needs_aware_timestamps() -> None:
    data = manifest().to_json()
    data["started_at"] = "2026-01-01T10:00:00"
    with pytest.raises(MediaError):
        RecordingManifest.from_json(data)


@pytest.mark.parametrize("recording_id", ["..", "../x", "a/b", ".hidden", "", "x" * 129, "é"])
def test_recording_ids_cannot_leave_the_storage_root(tmp_path: Path, recording_id: str) -> None:
    with pytest.raises(MediaError) as error:
        recording_directory(tmp_path, recording_id)
    assert error.value.code == "bad_recording_id"


def test_a_recording_directory_is_named_by_its_id(tmp_path: Path) -> None:
    recording_id = "3f2c9a1e-5b7d-4c21-9e0f-1a2b3c4d5e6f"
    assert recording_directory(tmp_path, recording_id) == tmp_path / recording_id
