"""Audio and video of a recording stay in sync: a bot publishes a picture that flashes white
and a tone that beeps at the same instants; in the recorded files (placed at their manifest
start offsets) each flash and its beep are within 80 ms of each other.
"""

from __future__ import annotations

import array
import asyncio
import time
from pathlib import Path
from typing import Protocol

import av
import pytest
from aiortc import (
    AudioStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from av import AudioFrame, VideoFrame

from media.codecs import capabilities_for
from media.node import LocalMediaNode
from media.recording import RecordedTrack
from tests.media.peers import wait_until

pytestmark = pytest.mark.timeout(40)

PERIOD = 1.0  # a flash and a beep every second
PULSE = 0.2  # each lasting this long
WIDTH, HEIGHT = 320, 240
MAX_SKEW = 0.080


def pulsing(moment: float, epoch: float) -> bool:
    """Whether a flash/beep is on at wall-clock `moment`."""
    return (moment - epoch) % PERIOD < PULSE


class FlashTrack(VideoStreamTrack):
    """Black frames, white while a pulse is on (by the wall clock of the frame's capture)."""

    def __init__(self, epoch: float) -> None:
        super().__init__()
        self.epoch = epoch

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        captured = self._start + pts * time_base
        frame = VideoFrame(width=WIDTH, height=HEIGHT, format="yuv420p")
        luma, cb, cr = frame.planes
        luma.update((b"\xeb" if pulsing(captured, self.epoch) else b"\x10") * luma.buffer_size)
        cb.update(b"\x80" * cb.buffer_size)
        cr.update(b"\x80" * cr.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


class BeepTrack(AudioStreamTrack):
    """Silence, a 500 Hz square wave while a pulse is on, decided sample by sample."""

    def __init__(self, epoch: float) -> None:
        super().__init__()
        self.epoch = epoch

    async def recv(self) -> AudioFrame:
        frame = await super().recv()
        assert isinstance(frame, AudioFrame) and frame.pts is not None
        rate = frame.sample_rate  # aiortc's silence is 8 kHz; the encoder resamples
        first = self._start + frame.pts / rate
        samples = bytearray()
        for index in range(frame.samples):
            on = pulsing(first + index / rate, self.epoch)
            value = (12000 if (index * 1000 // rate) % 2 else -12000) if on else 0
            samples += value.to_bytes(2, "little", signed=True)
        frame.planes[0].update(bytes(samples))
        return frame


class PublishTarget(Protocol):
    """A room, or a remote node's room: where a bot's publishing offer goes."""

    async def publish(self, peer_id: str, sdp: str) -> str: ...


class PulseBot:
    """Publishes a flashing picture and a beeping tone that pulse together.

    Flat pictures cost next to nothing to encode, so on a machine busy with other work the
    bot's media keeps pace with the wall clock, which the recording tests measure against.
    """

    def __init__(self, peer_id: str, video_codec: str = "VP8") -> None:
        self.peer_id = peer_id
        self.epoch = time.time()
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        video = self.pc.addTransceiver(FlashTrack(self.epoch), direction="sendonly")
        video.setCodecPreferences(capabilities_for("video", video_codec))
        self.pc.addTransceiver(BeepTrack(self.epoch), direction="sendonly")

    async def publish(self, room: PublishTarget) -> None:
        """Offer, let the SFU answer."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await room.publish(self.peer_id, self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))

    async def close(self) -> None:
        """Hang up."""
        await self.pc.close()


def onsets(times_and_levels: list[tuple[float, bool]]) -> list[float]:
    """The times at which the level turns on after at least half a period off."""
    found: list[float] = []
    last_on: float | None = None
    seen_off = False
    for moment, on in times_and_levels:
        if not on:
            seen_off = True
            continue
        if (moment - last_on > PERIOD / 2) if last_on is not None else seen_off:
            found.append(moment)
        last_on = moment
    return found


def flash_onsets(path: Path, offset: float) -> list[float]:
    levels: list[tuple[float, bool]] = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            luma = bytes(frame.planes[0])[::97]  # a sample of the luma plane is enough
            assert frame.time is not None
            levels.append((offset + frame.time, sum(luma) / len(luma) > 128))
    return onsets(levels)


def beep_onsets(path: Path, offset: float) -> list[float]:
    levels: list[tuple[float, bool]] = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            assert frame.format.name == "fltp" and frame.time is not None
            samples = array.array("f", bytes(frame.planes[0]))[: frame.samples]  # channel 1
            # 2 ms windows: precise enough; Opus leaves the square wave's level uneven.
            for start in range(0, len(samples), 96):
                window = samples[start : start + 96]
                loud = max(abs(v) for v in window) > 0.1
                levels.append((offset + frame.time + start / frame.sample_rate, loud))
    return onsets(levels)


async def test_a_flash_and_its_beep_are_recorded_within_80_ms(tmp_path: Path) -> None:
    node = LocalMediaNode(recordings_dir=tmp_path)
    await node.create_room("sync")
    room = node.room("sync")
    bot = PulseBot("presenter")
    try:
        await bot.publish(room)
        await wait_until(
            lambda: len(room.published_tracks) == 2
            and all(t.tap.frames_tapped > 10 for t in room.published_tracks),
            within=10,
        )
        await node.start_recording("sync", "sync-1", frozenset())
        await asyncio.sleep(4.5)
        manifest = await node.stop_recording("sync")
    finally:
        await bot.close()
        await node.close()

    directory = tmp_path / "sync-1"
    video: RecordedTrack = next(t for t in manifest.tracks if t.kind == "video")
    audio: RecordedTrack = next(t for t in manifest.tracks if t.kind == "audio")
    flashes = flash_onsets(directory / video.file, video.start_offset)
    beeps = beep_onsets(directory / audio.file, audio.start_offset)
    assert len(flashes) >= 3, flashes
    assert len(beeps) >= 3, beeps
    skews = [min(abs(flash - beep) for beep in beeps) for flash in flashes]
    assert max(skews) < MAX_SKEW, (flashes, beeps)
