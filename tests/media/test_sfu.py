"""The SFU end to end: aiortc bots publish and subscribe over loopback, nothing mocked.

The SFU must forward encoded frames: its receivers never decode and its senders never encode.
aiortc's module functions `get_decoder`/`get_encoder` are wrapped (not replaced) to count who
calls them; no other aiortc internals are touched here (those live in test_aiortc_tap.py).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator

import aiortc.rtcrtpreceiver
import aiortc.rtcrtpsender
import pytest

from media.aiortc_tap.receiver_tap import send_picture_loss
from media.aiortc_tap.sender import sender_encoder
from media.errors import MediaError
from media.events import MediaEvent, TrackPublished, TrackUnpublished
from media.node import LocalMediaNode
from media.room import Room
from tests.media.bots import PublisherBot, SubscriberBot
from tests.media.conftest import receiver_decoder_threads
from tests.media.peers import wait_until, wait_until_steady

pytestmark = pytest.mark.timeout(30)




class Call:
    """A room plus the bots in it, all closed at the end of the test."""

    def __init__(self) -> None:
        self.events: list[MediaEvent] = []
        self.room = Room("board", on_event=self.events.append)
        self.bots: list[PublisherBot | SubscriberBot] = []

    async def publisher(self, peer_id: str, video_codec: str = "VP8") -> PublisherBot:
        bot = PublisherBot(peer_id, video_codec)
        self.bots.append(bot)
        await bot.publish(self.room)
        return bot

    async def subscriber(self, peer_id: str) -> SubscriberBot:
        bot = SubscriberBot(peer_id)
        self.bots.append(bot)
        await bot.subscribe(self.room)
        return bot

    async def close(self) -> None:
        for bot in self.bots:
            await bot.close()
        await self.room.close()


@pytest.fixture
async def call() -> AsyncIterator[Call]:
    session = Call()
    yield session
    await session.close()


async def test_two_subscribers_decode_forwarded_video_and_audio_that_the_sfu_never_decoded(
    call: Call, decoder_threads: set[threading.Thread], encoders_created: list[str]
) -> None:
    await call.publisher("presenter")
    viewers = [await call.subscriber("viewer-1"), await call.subscriber("viewer-2")]

    for viewer in viewers:
        video = await viewer.wait_for_frames("video", within=10)
        audio = await viewer.wait_for_frames("audio", within=10)
        await wait_until(lambda v=video, a=audio: v.frames >= 30 and a.frames >= 50, within=10)
        assert video.sizes == {(640, 480)}
        assert audio.sample_rates == {48000}

    published = [call.room.published_track(info.track_id) for info in call.room.tracks]
    assert {t.info.kind for t in published} == {"audio", "video"}
    assert all(track.tap.frames_tapped > 0 for track in published)
    # Decoders ran for the viewers (two viewers x two tracks) and none for the SFU's receivers.
    assert len(decoder_threads) == 4
    for viewer in viewers:
        senders = call.room.subscription_senders(viewer.peer_id)
        assert len(senders) == 2
        for sender in senders.values():
            assert type(sender_encoder(sender)).__name__ in {"Vp8Packetizer", "OpusPacketizer"}
    # Only the presenter's own two senders ever created an encoder.
    assert sorted(encoders_created) == ["VP8", "opus"]


async def test_a_subscriber_joining_two_seconds_late_decodes_video_within_a_second(
    call: Call,
) -> None:
    await call.publisher("presenter")
    first = await call.subscriber("viewer-1")
    await first.wait_for_frames("video", within=10)
    await asyncio.sleep(2.0)

    joined_at = time.monotonic()
    late = await call.subscriber("late-viewer")
    video = await late.wait_for_frames("video", within=5)

    assert video.first_frame_at is not None
    assert video.first_frame_at - joined_at < 1.0
    assert video.sizes == {(640, 480)}


async def test_a_subscribers_keyframe_request_reaches_the_publisher(call: Call) -> None:
    presenter = await call.publisher("presenter")
    viewer = await call.subscriber("viewer-1")
    await viewer.wait_for_frames("video", within=10)
    await asyncio.sleep(0.5)  # past the keyframe-request throttle window of the subscribe
    before = presenter.keyframe_requests

    viewer_receiver = next(t.receiver for t in viewer.pc.getTransceivers() if t.kind == "video")
    (source,) = viewer_receiver.getSynchronizationSources()
    await send_picture_loss(viewer_receiver, source.source)

    await wait_until(lambda: presenter.keyframe_requests > before, within=3)
    assert presenter.keyframe_requests > before


async def test_h264_is_forwarded_when_the_publisher_offers_only_h264(
    call: Call, decoder_threads: set[threading.Thread]
) -> None:
    await call.publisher("presenter", video_codec="H264")
    viewer = await call.subscriber("viewer-1")

    video = await viewer.wait_for_frames("video", within=10)
    await wait_until(lambda: video.frames >= 10, within=10)

    assert video.sizes == {(640, 480)}
    info = next(i for i in call.room.tracks if i.kind == "video")
    assert info.codec == "H264"
    # The viewer's audio decoder starts with its first audio frame, which may come after the
    # tenth video frame: wait for both of the viewer's decoders, then look for the SFU's.
    viewer_decoders = receiver_decoder_threads(viewer.pc)
    assert len(viewer_decoders) == 2
    await wait_until(lambda: viewer_decoders <= decoder_threads, within=10)
    sfu_side = call.room.connection("presenter", "publish")
    assert sfu_side is not None
    assert not receiver_decoder_threads(sfu_side) & decoder_threads
    assert len(decoder_threads) == 2  # the viewer's video and audio; none on the SFU


async def test_a_paused_subscriber_receives_nothing_and_resumes_from_a_keyframe(
    call: Call,
) -> None:
    await call.publisher("presenter")
    viewer = await call.subscriber("viewer-1")
    video = await viewer.wait_for_frames("video", within=10)
    track_id = next(i.track_id for i in call.room.tracks if i.kind == "video")

    call.room.set_paused("viewer-1", track_id, True)
    # Frames already sent, queued or in a jitter buffer drain first; on a busy machine slowly.
    await wait_until_steady(lambda: video.frames, quiet=0.5, within=10)
    paused_at = video.frames
    await asyncio.sleep(1.0)  # long enough for a frame forwarded by mistake to show
    assert video.frames == paused_at

    call.room.set_paused("viewer-1", track_id, False)
    # A deadline, not a speed requirement: the keyframe comes back in a fraction of this.
    await wait_until(lambda: video.frames >= paused_at + 10, within=10)
    with pytest.raises(MediaError) as error:
        call.room.set_paused("stranger", track_id, True)
    assert error.value.code == "not_subscribed"


async def test_a_second_publisher_reaches_an_existing_subscriber_after_renegotiation(
    call: Call,
) -> None:
    await call.publisher("presenter")
    viewer = await call.subscriber("viewer-1")
    await viewer.wait_for_frames("video", within=10)

    await call.publisher("discussant")
    await viewer.subscribe(call.room)

    await wait_until(lambda: len(viewer.all_received) == 4, within=5)
    await wait_until(lambda: all(r.frames >= 10 for r in viewer.all_received), within=10)
    discussant_video = next(
        i.track_id for i in call.room.tracks if i.publisher_id == "discussant" and i.kind == "video"
    )
    output = call.room.published_track(discussant_video).output("viewer-1")
    assert output is not None
    await wait_until(lambda: output.frames_sent >= 10, within=10)
    published = [e for e in call.events if isinstance(e, TrackPublished)]
    assert {e.track.publisher_id for e in published} == {"presenter", "discussant"}


async def test_a_screen_share_added_by_renegotiation_reaches_subscribers_as_a_second_video(
    call: Call,
) -> None:
    presenter = await call.publisher("presenter")
    viewer = await call.subscriber("viewer-1")
    await viewer.wait_for_frames("video", within=10)

    presenter.add_screen()
    await presenter.publish(call.room)
    published = [e.track for e in call.events if isinstance(e, TrackPublished)]
    assert [t.kind for t in published] == ["video", "audio", "video"]
    await viewer.subscribe(call.room)

    await wait_until(lambda: len(viewer.all_received) == 3, within=5)
    await wait_until(lambda: all(r.frames >= 10 for r in viewer.all_received), within=10)
    screen = [r for r in viewer.all_received if r.kind == "video"][1]
    assert screen.sizes == {(640, 480)}
    # Camera and screen keep the publisher's stream, so the browser can group them.
    assert len({t.stream_id for t in call.room.tracks}) == 1


async def test_a_screen_share_stopped_by_renegotiation_is_unpublished(call: Call) -> None:
    presenter = await call.publisher("presenter")
    screen_sender = presenter.add_screen()
    await presenter.publish(call.room)
    assert len(call.room.tracks) == 3

    screen = next(t for t in presenter.pc.getTransceivers() if t.sender is screen_sender)
    screen.direction = "inactive"
    await presenter.publish(call.room)

    ended = [e.track for e in call.events if isinstance(e, TrackUnpublished)]
    assert [t.track_id for t in ended] == [f"presenter/1/{screen.mid}"]
    assert sorted(t.kind for t in call.room.tracks) == ["audio", "video"]


async def test_a_viewer_who_subscribed_before_the_presenter_published_receives_after_renegotiation(
    call: Call,
) -> None:
    viewer = await call.subscriber("viewer-1")
    assert viewer.all_received == []

    await call.publisher("presenter")
    await viewer.subscribe(call.room)

    video = await viewer.wait_for_frames("video", within=10)
    assert video.sizes == {(640, 480)}
    await viewer.wait_for_frames("audio", within=5)


async def test_a_publisher_leaving_ends_its_tracks_for_subscribers(call: Call) -> None:
    await call.publisher("presenter")
    viewer = await call.subscriber("viewer-1")
    await viewer.wait_for_frames("video", within=10)
    outputs = [call.room.published_track(i.track_id).output("viewer-1") for i in call.room.tracks]

    await call.room.leave("presenter")

    assert call.room.tracks == []
    assert all(o is not None and o.readyState == "ended" for o in outputs)
    ended = [e for e in call.events if isinstance(e, TrackUnpublished)]
    assert {e.track.kind for e in ended} == {"audio", "video"}
    # The next offer marks the ended tracks inactive for the viewer.
    offer = await call.room.subscribe("viewer-1")
    assert offer.tracks_by_mid == {}
    assert offer.sdp.count("a=inactive") == 2


async def test_a_publisher_that_trickles_its_ice_candidates_connects(call: Call) -> None:
    presenter = PublisherBot("presenter")
    call.bots.append(presenter)
    await presenter.pc.setLocalDescription(await presenter.pc.createOffer())
    lines = presenter.pc.localDescription.sdp.splitlines()
    candidates = [line for line in lines if line.startswith("a=candidate:")]
    mid = next(line[len("a=mid:") :] for line in lines if line.startswith("a=mid:"))
    bare_offer = "\r\n".join(
        line for line in lines if not line.startswith(("a=candidate:", "a=end-of-candidates"))
    )
    answer = await call.room.publish("presenter", bare_offer + "\r\n")
    await presenter.pc.setRemoteDescription(aiortc.RTCSessionDescription(answer, "answer"))
    assert candidates

    for candidate in candidates:
        await call.room.add_ice_candidate("presenter", "publish", candidate, sdp_mid=mid)
    await call.room.add_ice_candidate("presenter", "publish", None)
    sfu_side = call.room.connection("presenter", "publish")
    assert sfu_side is not None
    remote_sdp = sfu_side.remoteDescription.sdp
    assert sum(line.startswith("a=candidate:") for line in remote_sdp.splitlines()) >= len(
        candidates
    )
    viewer = await call.subscriber("viewer-1")

    await viewer.wait_for_frames("video", within=10)


async def test_a_malformed_candidate_is_a_media_error(call: Call) -> None:
    await call.publisher("presenter")

    with pytest.raises(MediaError) as error:
        await call.room.add_ice_candidate("presenter", "publish", "candidate:bogus", sdp_mid="0")
    assert error.value.code == "bad_candidate"
    with pytest.raises(MediaError) as error:
        await call.room.add_ice_candidate("nobody", "subscribe", None)
    assert error.value.code == "not_connected"


async def test_a_publisher_offering_no_codec_we_forward_is_refused_and_forgotten(
    call: Call,
) -> None:
    presenter = PublisherBot("presenter")
    call.bots.append(presenter)
    await presenter.pc.setLocalDescription(await presenter.pc.createOffer())
    h264_only_room = Room("h264-only", video_codecs=("H264",))

    with pytest.raises(MediaError) as error:
        await h264_only_room.publish("presenter", presenter.pc.localDescription.sdp)

    assert error.value.code == "no_common_codec"
    assert h264_only_room.tracks == []
    await h264_only_room.close()


async def test_malformed_or_unexpected_descriptions_are_media_errors(call: Call) -> None:
    with pytest.raises(MediaError) as error:
        await call.room.publish("presenter", "v=0\r\nthis is not sdp\r\n")
    assert error.value.code == "bad_sdp"
    assert call.room.connection("presenter", "publish") is None

    with pytest.raises(MediaError) as error:
        await call.room.answer("nobody", "v=0\r\n")
    assert error.value.code == "not_subscribed"

    viewer = await call.subscriber("viewer-1")
    with pytest.raises(MediaError) as error:
        # Stable state: there is no offer to answer.
        await call.room.answer("viewer-1", viewer.pc.localDescription.sdp)
    assert error.value.code == "bad_sdp"


async def test_the_media_node_runs_a_room_through_its_interface() -> None:
    node = LocalMediaNode()
    await node.create_room("lecture")
    presenter = PublisherBot("presenter")
    viewer = SubscriberBot("viewer")
    try:
        await presenter.pc.setLocalDescription(await presenter.pc.createOffer())
        answer = await node.publish("lecture", "presenter", presenter.pc.localDescription.sdp)
        await presenter.pc.setRemoteDescription(aiortc.RTCSessionDescription(answer, "answer"))
        offer = await node.subscribe("lecture", "viewer")
        assert sorted(i.kind for i in offer.tracks_by_mid.values()) == ["audio", "video"]
        await viewer.pc.setRemoteDescription(aiortc.RTCSessionDescription(offer.sdp, "offer"))
        await viewer.pc.setLocalDescription(await viewer.pc.createAnswer())
        await node.answer("lecture", "viewer", viewer.pc.localDescription.sdp)

        video = await viewer.wait_for_frames("video", within=10)
        assert video.sizes == {(640, 480)}
        assert len(await node.tracks("lecture")) == 2
    finally:
        await presenter.close()
        await viewer.close()
        await node.close()
