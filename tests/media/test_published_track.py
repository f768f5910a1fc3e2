"""The edge around the forwarder: bounded subscriber queues and what happens when one overflows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

from media.frames import EncodedFrame
from media.published_track import VIDEO_QUEUE_FRAMES, PublishedTrack, TrackInfo


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def pc() -> AsyncIterator[RTCPeerConnection]:
    connection = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    yield connection
    await connection.close()


def video_track(pc: RTCPeerConnection, clock: FakeClock) -> PublishedTrack:
    receiver = pc.addTransceiver("video", direction="recvonly").receiver
    info = TrackInfo("presenter/0", "presenter", "video", "VP8", "stream")
    return PublishedTrack(info, receiver, 90000, clock=clock)


def frame(index: int, keyframe: bool = False) -> EncodedFrame:
    return EncodedFrame(b"frame", index * 3000, keyframe)


async def test_nothing_is_queued_for_a_subscriber_until_its_sender_starts_reading(
    pc: RTCPeerConnection,
) -> None:
    clock = FakeClock()
    track = video_track(pc, clock)
    output = track.add_subscriber("viewer")

    for index in range(100):
        track._on_frame(frame(index, keyframe=index % 10 == 0))

    assert output._queue.qsize() == 0
    assert track.forwarder.keyframe_requests_sent == 0


async def test_a_subscriber_that_stops_reading_is_bounded_then_waits_for_a_keyframe(
    pc: RTCPeerConnection,
) -> None:
    clock = FakeClock()
    track = video_track(pc, clock)
    output = track.add_subscriber("viewer")
    reader = asyncio.ensure_future(output.recv())
    await asyncio.sleep(0)  # the sender's first read starts forwarding
    assert track.forwarder.keyframe_requests_sent == 1
    track._on_frame(frame(0, keyframe=True))
    await reader

    for index in range(1, VIDEO_QUEUE_FRAMES + 2):
        clock.now = index / 30
        track._on_frame(frame(index))

    assert output._queue.qsize() <= VIDEO_QUEUE_FRAMES
    assert output.frames_dropped > 0
    assert track.forwarder.is_waiting_for_keyframe("viewer")
    assert track.forwarder.keyframe_requests_sent == 2
    clock.now = 2.0
    track._on_frame(frame(60))
    assert output._queue.qsize() == 0  # deltas held back
    track._on_frame(frame(61, keyframe=True))
    assert output._queue.qsize() == 1


async def test_pausing_before_the_connection_is_up_is_remembered(pc: RTCPeerConnection) -> None:
    clock = FakeClock()
    track = video_track(pc, clock)
    output = track.add_subscriber("viewer")
    track.set_paused("viewer", True)
    reader = asyncio.ensure_future(output.recv())
    await asyncio.sleep(0)

    track._on_frame(frame(0, keyframe=True))
    await asyncio.sleep(0)
    assert not reader.done()

    track.set_paused("viewer", False)
    track._on_frame(frame(1, keyframe=True))
    packet = await asyncio.wait_for(reader, timeout=1)
    assert bytes(packet) == b"frame"


async def test_closing_the_published_track_ends_every_subscriber_copy(
    pc: RTCPeerConnection,
) -> None:
    track = video_track(pc, FakeClock())
    outputs = [track.add_subscriber(name) for name in ("a", "b")]

    track.close()

    assert track.closed
    assert all(o.readyState == "ended" for o in outputs)
    assert track.forwarder.subscriber_ids == []


async def test_a_new_publisher_stream_restarts_subscribers_from_a_keyframe(
    pc: RTCPeerConnection,
) -> None:
    clock = FakeClock()
    track = video_track(pc, clock)
    output = track.add_subscriber("viewer")
    reader = asyncio.ensure_future(output.recv())
    await asyncio.sleep(0)
    track._on_frame(frame(0, keyframe=True))
    await reader
    clock.now = 1.0

    track._on_source_change()

    assert track.forwarder.is_waiting_for_keyframe("viewer")
    assert track.forwarder.keyframe_requests_sent == 2
    track._on_frame(frame(5))
    assert output._queue.qsize() == 0


async def test_a_frame_is_packetized_once_for_all_its_subscribers(pc: RTCPeerConnection) -> None:
    track = video_track(pc, FakeClock())
    keyframe = EncodedFrame(bytes(range(256)) * 20, 3000, True)
    # Every subscriber's Deliver carries the frame rebased: same data object, own timestamp.
    rebased = [replace(keyframe, timestamp=t) for t in (0, 90000)]

    first, second = (track._payloads(frame) for frame in rebased)
    following = track._payloads(EncodedFrame(b"\x01" * 100, 6000, False))

    assert first is second and len(first) > 1
    # One VP8 picture id sequence per layer (RFC 7741 descriptor, 15-bit M form).
    picture_id = ((first[0][2] & 0x7F) << 8) | first[0][3]
    assert ((following[0][2] & 0x7F) << 8) | following[0][3] == (picture_id + 1) % (1 << 15)


class Sink:
    def __init__(self) -> None:
        self.frames: list[EncodedFrame] = []
        self.changes = 0

    def on_frame(self, frame: EncodedFrame) -> None:
        self.frames.append(frame)

    def on_source_change(self) -> None:
        self.changes += 1

    def on_loss(self) -> None:
        pass


async def test_the_recorder_takes_a_simulcast_cameras_top_quality_only(
    pc: RTCPeerConnection,
) -> None:
    clock = FakeClock()
    top, mid, low = (pc.addTransceiver("video", direction="recvonly").receiver for _ in range(3))
    info = TrackInfo("presenter/0", "presenter", "video", "VP8", "stream")
    track = PublishedTrack(info, top, 90000, lower_layers=[mid, low], clock=clock)
    sink = Sink()
    track.add_sink(sink)

    for layer, data in ((0, b"low"), (1, b"mid"), (2, b"top")):
        track._on_frame(EncodedFrame(data, 3000, True), layer)
        track._on_source_change(layer)

    assert track.layers == 3
    assert [f.data for f in sink.frames] == [b"top"]
    assert sink.changes == 1
