"""`junta recordings export` and `junta recordings purge`, run as the operator runs them, and the
export's composition (layouts, offsets, audio mix) checked by opening the MP4 with PyAV."""

from __future__ import annotations

import array
import io
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import pytest
from sqlalchemy import select

from casebook import demo, recordings
from casebook.db import create_engine, session_factory
from casebook.models import AuditEvent, Recording, RecordingStatus, User
from media.recording.export import ExportError, ExportTrack, export_mp4, progress_bar
from media.recording.layout import Rect, fit, tiles
from tests.casebook.recording_samples import SPEAKER_AND_SCREEN, SampleTrack, copy_sample

REPO = Path(__file__).resolve().parents[3]
LECTURE_ROOM = "sesion-academica"


def junta(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "JUNTA_SECRET_KEY": "k" * 40,
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "web.app.cli", *args], cwd=cwd, capture_output=True, text=True,
        env=environ, timeout=180,
    )


@pytest.fixture
async def prepared(tmp_path: Path, demo_templates: Any) -> dict[str, str]:
    """A demo SQLite database with one finished lecture recording, `lec`, and its files."""
    shutil.copyfile(demo_templates.sqlite(), tmp_path / "junta.db")
    url = f"sqlite+aiosqlite:///{tmp_path / 'junta.db'}"
    root = tmp_path / "recordings"
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as db:
            lecturer = await db.scalar(select(User.id).where(User.email == demo.LECTURER))
            assert lecturer is not None
            await recordings.begin_recording(
                db, room_id=LECTURE_ROOM, started_by_user_id=lecturer, recording_id="lec"
            )
            await recordings.complete_recording(
                db, copy_sample(root, "lec", LECTURE_ROOM), {"peer-lecturer": "Ponente"}
            )
            await db.commit()
    finally:
        await engine.dispose()
    return {"JUNTA_DATABASE_URL": url, "JUNTA_RECORDINGS_DIR": str(root)}


async def _audit(url: str, action: str) -> list[AuditEvent]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as db:
            found = await db.scalars(select(AuditEvent).where(AuditEvent.action == action))
            return list(found.all())
    finally:
        await engine.dispose()


def _streams(path: Path) -> dict[str, Any]:
    with av.open(str(path)) as container:
        assert container.duration is not None
        return {
            "duration": container.duration / 1e6,
            "codecs": sorted(s.codec_context.name for s in container.streams),
            "video": container.streams.video[0].codec_context.width,
        }


async def test_export_writes_an_mp4_as_long_as_the_recording_with_a_progress_bar(
    tmp_path: Path, prepared: dict[str, str]
) -> None:
    result = junta(
        "recordings", "export", "lec", "--layout", "grid", "--output", "shared.mp4",
        cwd=tmp_path, env=prepared,
    )
    assert result.returncode == 0, result.stderr
    assert "exporting [" in result.stderr and "100%" in result.stderr
    assert result.stdout.strip() == "exported shared.mp4"
    streams = _streams(tmp_path / "shared.mp4")
    assert streams["codecs"] == ["aac", "h264"]
    assert streams["duration"] == pytest.approx(3.0, abs=0.15)
    assert not (tmp_path / "shared.mp4.part").exists()
    (event,) = await _audit(prepared["JUNTA_DATABASE_URL"], "recording.exported")
    assert (event.target_id, event.detail["layout"]) == ("lec", "grid")


async def test_export_of_an_unknown_recording_says_so_in_one_line(
    tmp_path: Path, prepared: dict[str, str]
) -> None:
    result = junta("recordings", "export", "nope", cwd=tmp_path, env=prepared)
    assert result.returncode == 1
    assert result.stderr.strip() == "junta: error: no recording 'nope'"
    assert "Traceback" not in result.stderr


async def test_purge_deletes_expired_recordings_files_and_audits_it(
    tmp_path: Path, prepared: dict[str, str]
) -> None:
    url = prepared["JUNTA_DATABASE_URL"]
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as db:
            row = await db.get(Recording, "lec")
            assert row is not None
            row.ended_at = datetime.now(UTC) - timedelta(days=40)
            await db.commit()
    finally:
        await engine.dispose()
    kept = junta("recordings", "purge", cwd=tmp_path, env=prepared)  # default: 365 days
    assert kept.returncode == 0, kept.stderr
    assert "deleted the files of 0 recording(s)" in kept.stdout
    purged = junta(
        "recordings", "purge", cwd=tmp_path,
        env={**prepared, "JUNTA_RECORDING_RETENTION_DAYS": "30"},
    )
    assert purged.returncode == 0, purged.stderr
    assert "deleted the files of 1 recording(s) older than 30 days" in purged.stdout
    assert not (Path(prepared["JUNTA_RECORDINGS_DIR"]) / "lec").exists()
    (event,) = await _audit(url, "recording.deleted")
    assert event.target_id == "lec"
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as db:
            row = await db.get(Recording, "lec")
            assert row is not None and row.status == RecordingStatus.DELETED
    finally:
        await engine.dispose()
    gone = junta("recordings", "export", "lec", cwd=tmp_path, env=prepared)
    assert gone.returncode == 1 and "is deleted" in gone.stderr


def _sample_tracks(root: Path) -> list[ExportTrack]:
    manifest = copy_sample(root, "sample", "room", SPEAKER_AND_SCREEN)
    return [
        ExportTrack(t.kind, root / "sample" / t.file, t.start_offset, t.duration)
        for t in manifest.tracks
    ]


def _luma_at(path: Path, t: float, x: int, y: int) -> int:
    """The brightness of one pixel of the exported video at time `t`."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= t:
                plane = frame.planes[0]
                return memoryview(plane).cast("B")[y * plane.line_size + x]
    raise AssertionError("no frame at that time")


def test_the_speaker_layout_honours_each_tracks_start_offset(tmp_path: Path) -> None:
    output = tmp_path / "speaker.mp4"
    reported: list[float] = []
    result = export_mp4(
        _sample_tracks(tmp_path), output, layout="speaker", width=320, height=180,
        progress=lambda done, total: reported.append(done / total),
    )
    assert result.video_frames == 75
    assert reported[-1] == pytest.approx(1.0)
    assert reported == sorted(reported)
    streams = _streams(output)
    assert streams["video"] == 320
    assert streams["duration"] == pytest.approx(3.0, abs=0.15)
    # The screen share (offset 0.5 s) sits in the right column: black before it starts.
    side = tiles("speaker", 2, 320, 180, main=0)[1]
    x, y = side.x + side.width // 2, side.y + side.height // 2
    assert _luma_at(output, 0.2, x, y) < 30
    assert _luma_at(output, 1.0, x, y) > 30


def test_export_refuses_missing_files_and_leaves_no_partial_file(tmp_path: Path) -> None:
    tracks = _sample_tracks(tmp_path)
    tracks[0].path.unlink()
    with pytest.raises(ExportError, match="missing"):
        export_mp4(tracks, tmp_path / "out.mp4")
    assert not list(tmp_path.glob("out.mp4*"))


def test_grid_and_speaker_tiles_cover_the_frame_without_overlap() -> None:
    assert tiles("grid", 1, 1280, 720) == [Rect(0, 0, 1280, 720)]
    assert tiles("grid", 4, 1280, 720) == [
        Rect(0, 0, 640, 360), Rect(640, 0, 640, 360), Rect(0, 360, 640, 360),
        Rect(640, 360, 640, 360),
    ]
    speaker = tiles("speaker", 3, 1280, 720, main=1)
    assert speaker[1] == Rect(0, 0, 960, 720)
    assert speaker[0] == Rect(960, 0, 320, 360) and speaker[2] == Rect(960, 360, 320, 360)
    # A 4:3 camera in a 16:9 tile is letterboxed, centred, with even sizes.
    assert fit(640, 480, Rect(0, 0, 1280, 720)) == Rect(160, 0, 960, 720)
    assert fit(1920, 1080, Rect(960, 0, 320, 360)) == Rect(960, 90, 320, 180)


def test_the_progress_bar_is_one_line_on_standard_error() -> None:
    out = io.StringIO()
    show = progress_bar(out, width=10)
    for second in range(11):
        show(second, 10)
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("100% 00:10/00:10\n")
    assert "\rexporting [#####-----]  50% 00:05/00:10" in text


def _loudness(path: Path, start: float, end: float) -> float:
    """The mean absolute sample value of the exported audio between two times."""
    total, count = 0.0, 0
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            if frame.time is None or not start <= frame.time < end:
                continue
            samples = array.array("f", bytes(frame.planes[0]))[: frame.samples]
            total += sum(abs(s) for s in samples)
            count += len(samples)
    assert count, "no audio in that span"
    return total / count


def test_audio_starting_late_is_silent_until_its_offset(tmp_path: Path) -> None:
    late = [
        SampleTrack("peer-a", "video", 0.0, 3.0),
        SampleTrack("peer-b", "audio", 1.0, 2.0),
    ]
    manifest = copy_sample(tmp_path, "late", "room", late)
    tracks = [
        ExportTrack(t.kind, tmp_path / "late" / t.file, t.start_offset, t.duration)
        for t in manifest.tracks
    ]
    output = tmp_path / "late.mp4"
    export_mp4(tracks, output, layout="grid", width=160, height=96)
    assert _loudness(output, 0.1, 0.8) < 0.01
    assert _loudness(output, 1.2, 2.5) > 0.1  # the 440 Hz tone at a quarter of full scale
