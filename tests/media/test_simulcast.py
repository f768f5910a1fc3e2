"""Simulcast end to end: an aiortc bot publishes its camera in three qualities over loopback and
each subscriber bot gets the one its own feedback sustains. Nothing mocked: the weak subscriber
is a real peer whose REMB says its link is slow."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from media.errors import MediaError
from media.room import Room
from tests.media.bots import PublisherBot, SimulcastPublisherBot, SubscriberBot
from tests.media.peers import wait_until

# Generous: three encoders and two decoders share a loaded two-core machine.
pytestmark = pytest.mark.timeout(180)

TOP, LOW = (640, 480), (160, 120)


@pytest.fixture
async def room() -> AsyncIterator[Room]:
    room = Room("board")
    yield room
    await room.close()


async def test_each_subscriber_gets_the_quality_its_own_link_sustains(room: Room) -> None:
    publisher = SimulcastPublisherBot("presenter")
    strong = SubscriberBot("strong", claimed_estimate=5_000_000)
    weak = SubscriberBot("weak", claimed_estimate=50_000)
    try:
        started = time.monotonic()
        await publisher.publish(room)
        [camera] = [t for t in room.published_tracks if t.info.kind == "video"]
        assert camera.layers == 3
        await strong.subscribe(room)
        await weak.subscribe(room)

        await wait_until(
            lambda: "video" in weak.received and weak.received["video"].last_size == LOW,
            within=60,
        )
        await wait_until(lambda: strong.received["video"].last_size == TOP, within=60)
        frames_before = weak.received["video"].frames
        await wait_until(lambda: weak.received["video"].frames > frames_before + 30, within=30)

        # One video track per source for each subscriber (not one per quality), and audio.
        assert sorted(r.kind for r in weak.all_received) == ["audio", "video"]
        assert sorted(r.kind for r in strong.all_received) == ["audio", "video"]
        assert weak.received["video"].last_size == LOW
        assert strong.received["video"].last_size == TOP
        assert weak.received["audio"].frames > 0
        assert camera.current_layer("weak") == 0 and camera.current_layer("strong") == 2
        # The weak subscriber's switch and PLIs went to its own layer, not the top one.
        assert camera.forwarder.keyframe_requests_sent_for(2) <= time.monotonic() - started + 1
    finally:
        for bot in (publisher, strong, weak):
            await bot.close()


async def test_a_layer_group_must_name_video_sections_the_offer_sends(room: Room) -> None:
    publisher = PublisherBot("presenter")
    try:
        await publisher.pc.setLocalDescription(await publisher.pc.createOffer())
        audio_mid = next(t.mid for t in publisher.pc.getTransceivers() if t.kind == "audio")
        video_mid = next(t.mid for t in publisher.pc.getTransceivers() if t.kind == "video")
        assert audio_mid is not None and video_mid is not None

        with pytest.raises(MediaError) as refused:
            await room.publish(
                "presenter", publisher.pc.localDescription.sdp, [[video_mid, audio_mid]]
            )

        assert refused.value.code == "bad_layers"
    finally:
        await publisher.close()
