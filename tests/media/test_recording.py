"""Recording a room end to end: aiortc bots publish through the real SFU, files are checked
with PyAV. Nothing is mocked; the only clock is the wall clock.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import av
import pytest

from media.errors import MediaError
from media.node import LocalMediaNode
from media.recording import RecordedTrack, RecordingManifest, read_manifest
from tests.media.peers import wait_until
from tests.media.test_recording_sync import HEIGHT, WIDTH, PulseBot

pytestmark = pytest.mark.timeout(40)

ROOM = "board"
# How far a file's start or end may be from the moment it was asked for: a keyframe round
# trip, and on a machine shared with other work, bots whose media lags the wall clock.
SLACK = 1.2
PHASE = 2.5  # seconds between consent changes: well apart, whatever the slack


def starts_near(track: RecordedTrack, moment: float) -> bool:
    """Whether a file's first frame was captured about at `moment` of the recording."""
    return abs(track.start_offset - moment) < SLACK


def ends_near(track: RecordedTrack, moment: float) -> bool:
    """Whether a file's last frame was captured about at `moment` of the recording."""
    return abs(track.start_offset + track.duration - moment) < SLACK


class RecordedCall:
    """A node recording into a temporary directory, and its publisher bots."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.node = LocalMediaNode(recordings_dir=root)
        self.bots: list[PulseBot] = []

    async def publisher(self, peer_id: str, video_codec: str = "VP8") -> PulseBot:
        bot = PulseBot(peer_id, video_codec)
        self.bots.append(bot)
        await bot.publish(self.node.room(ROOM))
        await self.wait_for_media(peer_id)
        return bot

    async def wait_for_media(self, peer_id: str) -> None:
        room = self.node.room(ROOM)

        def flowing() -> bool:
            tracks = [t for t in room.published_tracks if t.info.publisher_id == peer_id]
            return len(tracks) == 2 and all(t.tap.frames_tapped > 10 for t in tracks)

        await wait_until(flowing, within=10)

    async def close(self) -> None:
        for bot in self.bots:
            await bot.close()
        await self.node.close()


@pytest.fixture
async def call(tmp_path: Path) -> AsyncIterator[RecordedCall]:
    session = RecordedCall(tmp_path / "recordings")
    await session.node.create_room(ROOM)
    yield session
    await session.close()


def file_duration(path: Path) -> float:
    with av.open(str(path)) as container:
        assert container.duration is not None
        return container.duration / 1_000_000


def demuxed_packets(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for p in container.demux(container.streams[0]) if p.pts is not None)


def by_publisher(manifest: RecordingManifest, peer_id: str) -> list[str]:
    return sorted(t.kind for t in manifest.tracks if t.publisher_id == peer_id)


@pytest.mark.parametrize("video_codec", ["VP8", "H264"])
async def test_a_recorded_call_gives_one_playable_file_per_track_lasting_the_recorded_time(
    call: RecordedCall,
    video_codec: str,
    decoder_threads: set[threading.Thread],
    encoders_created: list[str],
) -> None:
    await call.publisher("presenter", video_codec)

    started = time.monotonic()
    await call.node.start_recording(ROOM, "rec-1", frozenset())
    await asyncio.sleep(3.0)
    recorded_for = time.monotonic() - started
    manifest = await call.node.stop_recording(ROOM)

    # Muxed as received: nothing in this process decoded, only the bot's senders encoded.
    assert decoder_threads == set()
    assert sorted(encoders_created) == sorted([video_codec, "opus"])
    directory = call.root / "rec-1"
    assert manifest.recording_id == "rec-1" and manifest.room_id == ROOM
    assert not manifest.interrupted
    assert manifest.started_at.tzinfo is not None
    assert 2.5 < (manifest.ended_at - manifest.started_at).total_seconds() < 5.0
    assert read_manifest(directory) == manifest
    assert json.loads((directory / "manifest.json").read_text()) == manifest.to_json()
    assert not list(directory.glob("*.part"))
    assert {(t.kind, t.codec) for t in manifest.tracks} == {
        ("video", video_codec),
        ("audio", "opus"),
    }
    extensions = {".webm"} if video_codec == "VP8" else {".webm", ".mkv"}
    assert {Path(t.file).suffix for t in manifest.tracks} == extensions
    for track in manifest.tracks:
        path = directory / track.file
        data = path.read_bytes()
        assert track.size == len(data)
        assert track.sha256 == hashlib.sha256(data).hexdigest()
        assert track.publisher_id == "presenter"
        duration = file_duration(path)
        assert abs(duration - recorded_for) < 0.5, (track.kind, duration, recorded_for)
        assert abs(track.duration - duration) < 0.05
        assert 0 <= track.start_offset < 0.5
        assert track.frames == demuxed_packets(path)
    video = next(t for t in manifest.tracks if t.kind == "video")
    with av.open(str(directory / video.file)) as container:
        first = next(container.decode(video=0))
        assert (first.width, first.height) == (WIDTH, HEIGHT)
        assert first.key_frame  # started at a keyframe: the very first frame decodes whole


async def test_an_excluded_participant_has_no_track_and_a_late_joiner_is_recorded(
    call: RecordedCall,
) -> None:
    await call.publisher("alice")
    await call.publisher("bob")

    await call.node.start_recording(ROOM, "rec-2", frozenset({"bob"}))
    await asyncio.sleep(PHASE)
    await call.publisher("carol")  # joins after the start, consented
    await asyncio.sleep(PHASE)
    manifest = await call.node.stop_recording(ROOM)

    assert by_publisher(manifest, "alice") == ["audio", "video"]
    assert by_publisher(manifest, "bob") == []
    assert by_publisher(manifest, "carol") == ["audio", "video"]
    carol = [t for t in manifest.tracks if t.publisher_id == "carol"]
    assert all(t.start_offset > PHASE - SLACK for t in carol), carol
    directory = call.root / "rec-2"
    assert sorted(p.name for p in directory.glob("track-*")) == sorted(
        t.file for t in manifest.tracks
    )


async def test_consent_given_mid_recording_adds_tracks_and_withdrawn_closes_them(
    call: RecordedCall,
) -> None:
    await call.publisher("alice")
    await call.publisher("bob")

    await call.node.start_recording(ROOM, "rec-3", frozenset({"bob"}))
    started = time.monotonic()
    await asyncio.sleep(PHASE)
    await call.node.set_recording_excluded(ROOM, "bob", False)
    bob_in = time.monotonic() - started
    await asyncio.sleep(PHASE)
    await call.node.set_recording_excluded(ROOM, "alice", True)
    alice_out = time.monotonic() - started
    await asyncio.sleep(PHASE)
    await call.node.set_recording_excluded(ROOM, "alice", False)  # new files from here on
    alice_in = time.monotonic() - started
    await asyncio.sleep(PHASE)
    manifest = await call.node.stop_recording(ROOM)

    bob = [t for t in manifest.tracks if t.publisher_id == "bob"]
    assert sorted(t.kind for t in bob) == ["audio", "video"]
    assert all(starts_near(t, bob_in) for t in bob), bob
    alice = sorted(
        (t for t in manifest.tracks if t.publisher_id == "alice"), key=lambda t: t.start_offset
    )
    assert len(alice) == 4, alice
    first, second = alice[:2], alice[2:]
    for track in first:
        assert starts_near(track, 0.0) and ends_near(track, alice_out), track
    for track in second:
        assert starts_near(track, alice_in), track
    assert len({t.file for t in manifest.tracks}) == 6


async def test_recording_requests_are_checked(call: RecordedCall, tmp_path: Path) -> None:
    with pytest.raises(MediaError) as error:
        await call.node.start_recording(ROOM, "../escape", frozenset())
    assert error.value.code == "bad_recording_id"
    with pytest.raises(MediaError) as error:
        await call.node.stop_recording(ROOM)
    assert error.value.code == "not_recording"
    with pytest.raises(MediaError) as error:
        await call.node.start_recording("no-such-room", "rec-4", frozenset())
    assert error.value.code == "room_not_found"

    await call.node.start_recording(ROOM, "rec-4", frozenset())
    with pytest.raises(MediaError) as error:
        await call.node.start_recording(ROOM, "rec-5", frozenset())
    assert error.value.code == "recording_active"
    manifest = await call.node.stop_recording(ROOM)
    assert manifest.tracks == ()  # nobody published

    with pytest.raises(MediaError) as error:
        await call.node.start_recording(ROOM, "rec-4", frozenset())
    assert error.value.code == "recording_exists"
    unconfigured = LocalMediaNode()
    await unconfigured.create_room(ROOM)
    with pytest.raises(MediaError) as error:
        await unconfigured.start_recording(ROOM, "rec-6", frozenset())
    assert error.value.code == "recording_unavailable"
    assert not (tmp_path / "recordings" / "rec-6").exists()


async def test_closing_a_recorded_room_completes_the_recording(call: RecordedCall) -> None:
    await call.publisher("presenter")
    await call.node.start_recording(ROOM, "rec-7", frozenset())
    await asyncio.sleep(1.0)

    await call.node.close_room(ROOM)

    manifest = read_manifest(call.root / "rec-7")
    assert manifest is not None and not manifest.interrupted
    assert by_publisher(manifest, "presenter") == ["audio", "video"]


async def test_a_participant_who_leaves_mid_recording_keeps_what_was_recorded(
    call: RecordedCall,
) -> None:
    await call.publisher("alice")
    await call.publisher("bob")
    await call.node.start_recording(ROOM, "rec-8", frozenset())
    started = time.monotonic()
    await asyncio.sleep(PHASE)

    await call.node.leave(ROOM, "bob")
    left = time.monotonic() - started
    await asyncio.sleep(PHASE)
    manifest = await call.node.stop_recording(ROOM)

    bob = [t for t in manifest.tracks if t.publisher_id == "bob"]
    alice = [t for t in manifest.tracks if t.publisher_id == "alice"]
    assert sorted(t.kind for t in bob) == ["audio", "video"]
    assert all(ends_near(t, left) for t in bob), bob
    assert all(ends_near(t, left + PHASE) for t in alice), alice
    assert all((call.root / "rec-8" / t.file).exists() for t in manifest.tracks)
