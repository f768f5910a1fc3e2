"""Pins `media/aiortc_tap/` to aiortc 1.16.0 and exercises every private name it relies on.

If aiortc is upgraded, this is the file that should fail. Private names used by the product:
- `RTCRtpReceiver._RTCRtpReceiver__jitter_buffer` (its `add(packet) -> (pli, JitterFrame)`):
  the tap point for encoded frames; returning no frame keeps the decoder queue empty.
- `JitterBuffer._origin`, `JitterBuffer._packets` (with `capacity`, `remove()`) and
  `RtpPacket._data`: release a video frame as soon as its marker packet completes it.
- `RTCRtpReceiver._send_rtcp_pli(media_ssrc)`: send a keyframe request to a publisher.
- `RTCRtpSender._send_keyframe()`: called on a PLI or FIR from the remote peer.
- `RTCRtpSender._handle_rtcp_packet(packet)`: wrapped to hear a subscriber's REMB, receiver
  reports and NACKs (`watch_feedback`), with `_ssrc` to pick out this sender's report blocks.
- `RTCRtpReceiver._send_rtcp(packet)`: wrapped to send one summed REMB for a simulcast camera's
  layers (`combine_estimates`).
- `RTCRtpSender._RTCRtpSender__encoder`: replaced by a packetizer (the sender only creates an
  encoder when this is None, and only calls `pack()` for non-`av.Frame` input).
- `RTCRtpSender._stream_id`: the msid stream announced in the SDP.
- `MediaStreamTrack._id`: the msid track id.
- `Vp8Encoder._packetize`, `H264Encoder._packetize`, `H264Encoder._split_bitstream`.
- `DirectRtpSender` (frames sent without the sender's RTP loop): `RTCRtpSender.send` (wrapped
  to read the negotiated parameters), `RTCRtpSender._retransmit` (replaced: NACKs answered from
  our history), `RTCRtpSender._ssrc`, `_rtx_ssrc`, and the RTCP sender-report counters
  `_RTCRtpSender__ntp_timestamp`, `__rtp_timestamp`, `__octet_count`, `__packet_count`;
  on the way to the socket `RTCDtlsTransport._state` (`State.CONNECTED`), `._tx_srtp.protect`,
  `RTCIceTransport._connection`, aioice `Connection._nominated[1]` and its pair's
  `protocol.transport` and `remote_addr`.
Also pinned here: NACKs from a subscriber are answered from the SFU sender's RTP history (RTX),
which needs nothing of ours but must keep working for packetized frames.
Relied on by contract rather than name: the receiver calls `__jitter_buffer.add` after RTX
unwrapping, NACK generation and depayloading (so `packet.ssrc` is the media SSRC, `_data` is
depayloaded), a `(True, ...)` result means the buffer dropped packets, and Opus depayloads to the
RTP payload unchanged.
Test-only: `RTCRtpReceiver._RTCRtpReceiver__decoder_thread`, `__decoder_queue`,
`RemoteStreamTrack._queue`, `__remote_streams`, `_send_rtcp_nack`,
`RTCRtpSender._ssrc`, `RTCRtpSender._rtx_ssrc`,
`aiortc.rtcrtpsender.get_encoder` and `aiortc.rtcrtpreceiver.get_decoder` (to prove nothing was
decoded or encoded).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiortc
import aiortc.rtcrtpreceiver
import aiortc.rtcrtpsender
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket, is_rtcp
from av import AudioFrame, VideoFrame

from media.aiortc_tap import PINNED_AIORTC_VERSION, aiortc_version_is_pinned
from media.aiortc_tap.arrival import receive_rtp_on_arrival
from media.aiortc_tap.direct_sender import DirectRtpSender, _wire
from media.aiortc_tap.forwarded_track import ForwardedTrack
from media.aiortc_tap.packetizer import (
    H264Packetizer,
    OpusPacketizer,
    Vp8Packetizer,
    packetizer_for,
)
from media.aiortc_tap.receiver_tap import ReceiverTap
from media.aiortc_tap.remb import combine_estimates
from media.aiortc_tap.sender import (
    install_packetizer,
    sender_encoder,
    set_stream_id,
    watch_feedback,
    watch_keyframe_requests,
)
from media.codecs import capabilities_for
from media.frames import EncodedFrame
from media.room import Room
from tests.media.bots import MovingBoxTrack, PublisherBot, SubscriberBot, ToneTrack
from tests.media.peers import encoded_opus, encoded_video, negotiate, wait_until

pytestmark = pytest.mark.timeout(60)


def test_aiortc_is_the_pinned_version() -> None:
    assert aiortc.__version__ == "1.16.0" == PINNED_AIORTC_VERSION
    assert aiortc_version_is_pinned()


def test_private_methods_and_attributes_exist_with_the_expected_shape() -> None:
    buffer = JitterBuffer(capacity=4, is_video=True)
    assert buffer._origin is None and buffer._packets == [None] * 4
    assert buffer.capacity == 4 and callable(buffer.remove)
    assert callable(RTCRtpReceiver._send_rtcp_pli)
    assert callable(RTCRtpSender._send_keyframe)
    assert isinstance(Vp8Encoder.__dict__["_packetize"], classmethod)
    assert isinstance(H264Encoder.__dict__["_packetize"], classmethod)
    assert isinstance(H264Encoder.__dict__["_split_bitstream"], (classmethod, staticmethod))


@pytest.fixture
async def pcs() -> AsyncIterator[Callable[[], RTCPeerConnection]]:
    created: list[RTCPeerConnection] = []

    def make() -> RTCPeerConnection:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        created.append(pc)
        return pc

    yield make
    for pc in created:
        await pc.close()


async def offer_moving_box(
    sender_pc: RTCPeerConnection, receiver_pc: RTCPeerConnection
) -> tuple[Any, RTCRtpReceiver]:
    """The sender's VP8 moving box offered to the receiver: its transceiver, and the receiver
    (to tap before the answer, as the SFU does)."""
    transceiver = sender_pc.addTransceiver(MovingBoxTrack(), direction="sendonly")
    transceiver.setCodecPreferences(capabilities_for("video", "VP8"))
    await sender_pc.setLocalDescription(await sender_pc.createOffer())
    await receiver_pc.setRemoteDescription(sender_pc.localDescription)
    return transceiver, receiver_pc.getTransceivers()[0].receiver


async def test_receiver_tap_gets_encoded_frames_and_the_decoder_never_runs(
    pcs: Callable[[], RTCPeerConnection], decoder_threads: set[threading.Thread]
) -> None:
    sender_pc, receiver_pc = pcs(), pcs()
    transceiver, receiver = await offer_moving_box(sender_pc, receiver_pc)
    assert isinstance(receiver._RTCRtpReceiver__jitter_buffer, JitterBuffer)  # type: ignore[attr-defined]
    frames: list[EncodedFrame] = []
    tap = ReceiverTap(receiver, "VP8", frames.append)
    await receiver_pc.setLocalDescription(await receiver_pc.createAnswer())
    await sender_pc.setRemoteDescription(receiver_pc.localDescription)

    await wait_until(lambda: len(frames) >= 20, within=10)

    assert frames[0].keyframe and not all(f.keyframe for f in frames)
    assert tap.frames_tapped == len(frames)
    assert tap.media_ssrc == transceiver.sender._ssrc
    decoder_queue = receiver._RTCRtpReceiver__decoder_queue  # type: ignore[attr-defined]
    assert decoder_queue.qsize() == 0
    assert receiver.track._queue.qsize() == 0  # type: ignore[attr-defined]
    decoder_thread = receiver._RTCRtpReceiver__decoder_thread  # type: ignore[attr-defined]
    assert decoder_thread is not None and decoder_thread.is_alive()  # idle, not gone
    assert decoder_thread not in decoder_threads


async def test_a_tapped_connections_rtp_is_handled_on_arrival_and_still_counted(
    pcs: Callable[[], RTCPeerConnection],
) -> None:
    sender_pc, receiver_pc = pcs(), pcs()
    _, receiver = await offer_moving_box(sender_pc, receiver_pc)
    dtls = receiver.transport
    connection = dtls.transport._connection
    queued: list[bytes] = []
    enqueue = connection.data_received

    def counting_enqueue(data: bytes, component: int) -> None:
        queued.append(data)
        enqueue(data, component)

    # What the hook falls back to: aioice's queue for the DTLS transport's task.
    connection.data_received = counting_enqueue
    frames: list[EncodedFrame] = []
    ReceiverTap(receiver, "VP8", frames.append)
    receive_rtp_on_arrival(dtls)  # again (a second tap on the bundle): still one hook
    await receiver_pc.setLocalDescription(await receiver_pc.createAnswer())
    await sender_pc.setRemoteDescription(receiver_pc.localDescription)

    await wait_until(lambda: len(frames) >= 60, within=10)

    stats = await receiver_pc.getStats()
    inbound = [s for s in stats.values() if s.type == "inbound-rtp"]
    transport = [s for s in stats.values() if s.type == "transport"]
    media_queued = [d for d in queued if 127 < d[0] < 192 and not is_rtcp(d)]
    assert inbound[0].packetsReceived > 50
    # Only what arrived before DTLS finished (or behind a queued datagram) took the queue.
    assert len(media_queued) < inbound[0].packetsReceived / 10
    assert transport[0].packetsReceived >= inbound[0].packetsReceived


async def test_receiver_tap_forwards_opus_packets_on_arrival_without_decoding(
    pcs: Callable[[], RTCPeerConnection], decoder_threads: set[threading.Thread]
) -> None:
    sender_pc, receiver_pc = pcs(), pcs()
    sender_pc.addTransceiver(ToneTrack(), direction="sendonly")
    await sender_pc.setLocalDescription(await sender_pc.createOffer())
    await receiver_pc.setRemoteDescription(sender_pc.localDescription)
    receiver = receiver_pc.getTransceivers()[0].receiver
    frames: list[EncodedFrame] = []
    ReceiverTap(receiver, "opus", frames.append)
    await receiver_pc.setLocalDescription(await receiver_pc.createAnswer())
    await sender_pc.setRemoteDescription(receiver_pc.localDescription)

    await wait_until(lambda: len(frames) >= 25, within=10)

    assert all(f.keyframe and f.data for f in frames)
    steps = {(b.timestamp - a.timestamp) % (1 << 32) for a, b in itertools.pairwise(frames)}
    assert steps == {960}
    decoder_thread = receiver._RTCRtpReceiver__decoder_thread  # type: ignore[attr-defined]
    assert decoder_thread not in decoder_threads
    assert receiver.track._queue.qsize() == 0  # type: ignore[attr-defined]


async def test_request_keyframe_sends_a_pli_that_the_remote_sender_reports(
    pcs: Callable[[], RTCPeerConnection],
) -> None:
    sender_pc, receiver_pc = pcs(), pcs()
    transceiver = sender_pc.addTransceiver(MovingBoxTrack(), direction="sendonly")
    keyframe_requests: list[float] = []
    watch_keyframe_requests(transceiver.sender, lambda: keyframe_requests.append(1.0))
    await sender_pc.setLocalDescription(await sender_pc.createOffer())
    await receiver_pc.setRemoteDescription(sender_pc.localDescription)
    frames: list[EncodedFrame] = []
    tap = ReceiverTap(receiver_pc.getTransceivers()[0].receiver, "VP8", frames.append)
    await receiver_pc.setLocalDescription(await receiver_pc.createAnswer())
    await sender_pc.setRemoteDescription(receiver_pc.localDescription)
    await wait_until(lambda: len(frames) >= 5, within=10)
    keyframes_before = sum(f.keyframe for f in frames)

    assert tap.request_keyframe()

    await wait_until(lambda: len(keyframe_requests) >= 1, within=5)
    # The original `_send_keyframe` still runs, so aiortc's own encoder makes a keyframe.
    await wait_until(lambda: sum(f.keyframe for f in frames) > keyframes_before, within=5)


class HeardFeedback:
    def __init__(self) -> None:
        self.rembs: list[float] = []
        self.reports: list[tuple[float, float]] = []
        self.nacks = 0

    def on_remb(self, bitrate: float) -> None:
        self.rembs.append(bitrate)

    def on_report(self, fraction_lost: float, jitter: float) -> None:
        self.reports.append((fraction_lost, jitter))

    def on_nacks(self, count: int) -> None:
        self.nacks += count


async def test_watch_feedback_hears_the_remote_receivers_remb_and_reports(
    pcs: Callable[[], RTCPeerConnection],
) -> None:
    sender_pc, receiver_pc = pcs(), pcs()
    transceiver = sender_pc.addTransceiver(MovingBoxTrack(), direction="sendonly")
    heard = HeardFeedback()
    watch_feedback(transceiver.sender, 90000, heard)
    await sender_pc.setLocalDescription(await sender_pc.createOffer())
    await receiver_pc.setRemoteDescription(sender_pc.localDescription)
    await receiver_pc.setLocalDescription(await receiver_pc.createAnswer())
    await sender_pc.setRemoteDescription(receiver_pc.localDescription)

    await wait_until(lambda: heard.rembs and heard.reports, within=20)
    assert all(bitrate > 0 for bitrate in heard.rembs)
    assert all(0.0 <= lost <= 1.0 and jitter >= 0.0 for lost, jitter in heard.reports)


async def test_combined_estimates_name_every_layer_in_each_remb(
    pcs: Callable[[], RTCPeerConnection],
) -> None:
    sender_pc, receiver_pc = pcs(), pcs()
    heard = [HeardFeedback(), HeardFeedback()]
    for feedback in heard:
        transceiver = sender_pc.addTransceiver(MovingBoxTrack(), direction="sendonly")
        watch_feedback(transceiver.sender, 90000, feedback)
    await sender_pc.setLocalDescription(await sender_pc.createOffer())
    await receiver_pc.setRemoteDescription(sender_pc.localDescription)
    combine_estimates([t.receiver for t in receiver_pc.getTransceivers()])
    await receiver_pc.setLocalDescription(await receiver_pc.createAnswer())
    await sender_pc.setRemoteDescription(receiver_pc.localDescription)

    # Each REMB names both streams, so both senders hear the same (summed) estimates.
    await wait_until(lambda: set(heard[0].rembs) & set(heard[1].rembs), within=20)
    shared = set(heard[0].rembs) & set(heard[1].rembs)
    assert shared and all(bitrate > 0 for bitrate in shared)


def rtp(
    sequence_number: int, timestamp: int, ssrc: int, payload: bytes, marker: bool = False
) -> RtpPacket:
    """A depacketized RTP packet as the receiver hands it to its jitter buffer."""
    packet = RtpPacket(
        payload_type=96, sequence_number=sequence_number, timestamp=timestamp, marker=int(marker)
    )
    packet.ssrc = ssrc
    packet.payload = payload
    packet._data = payload  # type: ignore[attr-defined]  # set by the receiver's depayloader
    return packet


async def test_the_tap_is_fed_by_the_receivers_jitter_buffer_packet_by_packet(
    pcs: Callable[[], RTCPeerConnection],
) -> None:
    receiver = pcs().addTransceiver("video", direction="recvonly").receiver
    jitter_buffer = receiver._RTCRtpReceiver__jitter_buffer  # type: ignore[attr-defined]
    frames: list[EncodedFrame] = []
    source_changes: list[int] = []
    tap = ReceiverTap(receiver, "VP8", frames.append, lambda: source_changes.append(1))
    keyframe, delta = encoded_video("VP8", 2)

    # Frame 1 in two packets; it is complete once frame 2's first packet arrives.
    assert jitter_buffer.add(rtp(10, 3000, 1111, keyframe.data[:50])) == (False, None)
    assert jitter_buffer.add(rtp(11, 3000, 1111, keyframe.data[50:])) == (False, None)
    assert frames == []
    assert jitter_buffer.add(rtp(12, 6000, 1111, delta.data)) == (False, None)
    assert frames == [EncodedFrame(keyframe.data, 3000, True)]
    assert tap.media_ssrc == 1111 and source_changes == []

    jitter_buffer.add(rtp(13, 9000, 2222, delta.data))

    assert tap.media_ssrc == 2222 and source_changes == [1]
    assert frames[1] == EncodedFrame(delta.data, 6000, False)


@pytest.fixture
async def tapped_buffer(
    pcs: Callable[[], RTCPeerConnection],
) -> tuple[JitterBuffer, list[EncodedFrame]]:
    """A real receiver's video jitter buffer with a tap on it, fed by hand."""
    receiver = pcs().addTransceiver("video", direction="recvonly").receiver
    frames: list[EncodedFrame] = []
    ReceiverTap(receiver, "VP8", frames.append)
    return receiver._RTCRtpReceiver__jitter_buffer, frames  # type: ignore[attr-defined]


async def test_a_video_frame_is_released_by_its_marker_packet_without_waiting(
    tapped_buffer: tuple[JitterBuffer, list[EncodedFrame]],
) -> None:
    jitter_buffer, frames = tapped_buffer
    keyframe, delta = encoded_video("VP8", 2)

    jitter_buffer.add(rtp(100, 3000, 1, keyframe.data[:40]))
    assert frames == []
    jitter_buffer.add(rtp(101, 3000, 1, keyframe.data[40:], marker=True))
    assert frames == [EncodedFrame(keyframe.data, 3000, True)]
    jitter_buffer.add(rtp(102, 6000, 1, delta.data, marker=True))
    assert frames[1:] == [EncodedFrame(delta.data, 6000, False)]
    assert jitter_buffer._origin == 103  # nothing left behind to release twice


async def test_a_frame_completed_by_a_late_packet_is_released_with_the_frames_after_it(
    tapped_buffer: tuple[JitterBuffer, list[EncodedFrame]],
) -> None:
    jitter_buffer, frames = tapped_buffer
    keyframe, delta = encoded_video("VP8", 2)

    jitter_buffer.add(rtp(100, 3000, 1, keyframe.data[:40]))
    jitter_buffer.add(rtp(102, 3000, 1, keyframe.data[80:], marker=True))  # 101 is missing
    jitter_buffer.add(rtp(103, 6000, 1, delta.data, marker=True))
    assert frames == []

    jitter_buffer.add(rtp(101, 3000, 1, keyframe.data[40:80]))  # retransmitted

    assert frames == [
        EncodedFrame(keyframe.data, 3000, True),
        EncodedFrame(delta.data, 6000, False),
    ]


async def test_the_tap_reports_when_the_jitter_buffer_gives_up_on_lost_packets(
    pcs: Callable[[], RTCPeerConnection],
) -> None:
    receiver = pcs().addTransceiver("video", direction="recvonly").receiver
    jitter_buffer = receiver._RTCRtpReceiver__jitter_buffer  # type: ignore[attr-defined]
    losses: list[int] = []
    ReceiverTap(receiver, "VP8", lambda frame: None, on_loss=lambda: losses.append(1))
    keyframe = encoded_video("VP8", 1)[0]
    jitter_buffer.add(rtp(10, 3000, 1111, keyframe.data))

    # Packet 11 never arrives; a packet a whole buffer later makes the buffer give up on it.
    pli_flag, _ = jitter_buffer.add(rtp(10 + jitter_buffer.capacity + 1, 9000, 1111, b"x"))

    assert pli_flag is True
    assert losses == [1]


async def test_request_keyframe_before_any_packet_is_a_no_op(
    pcs: Callable[[], RTCPeerConnection],
) -> None:
    receiver = pcs().addTransceiver("video", direction="recvonly").receiver
    tap = ReceiverTap(receiver, "VP8", lambda frame: None)

    assert tap.request_keyframe() is False


def decode_remote_tracks(
    pc: RTCPeerConnection,
) -> tuple[list[VideoFrame | AudioFrame], list[asyncio.Future[None]]]:
    """Decode every track `pc` receives into the returned list until the track ends; the
    consumer tasks come back too, for the test to cancel."""
    decoded: list[VideoFrame | AudioFrame] = []
    consumers: list[asyncio.Future[None]] = []

    @pc.on("track")
    def on_track(remote: Any) -> None:
        async def consume() -> None:
            with contextlib.suppress(aiortc.mediastreams.MediaStreamError):
                while True:
                    decoded.append(await remote.recv())

        consumers.append(asyncio.ensure_future(consume()))

    return decoded, consumers


@pytest.mark.parametrize(
    ("kind", "codec", "make_frames", "packetizer"),
    [
        ("video", "VP8", lambda: encoded_video("VP8", 12), Vp8Packetizer),
        ("video", "H264", lambda: encoded_video("H264", 12), H264Packetizer),
        ("audio", "opus", lambda: encoded_opus(30), OpusPacketizer),
    ],
)
async def test_a_sender_with_a_packetizer_sends_encoded_frames_that_a_peer_decodes(
    pcs: Callable[[], RTCPeerConnection],
    encoders_created: list[str],
    kind: str,
    codec: str,
    make_frames: Callable[[], list[EncodedFrame]],
    packetizer: type,
) -> None:
    sender_pc, receiver_pc = pcs(), pcs()
    clock_rate = 90000 if kind == "video" else 48000
    started = asyncio.Event()
    track = ForwardedTrack(kind, clock_rate, 64, track_id="track-x", on_start=started.set)
    transceiver = sender_pc.addTransceiver(track, direction="sendonly")
    transceiver.setCodecPreferences(capabilities_for(kind, codec))
    install_packetizer(transceiver.sender, codec)
    set_stream_id(transceiver.sender, "stream-x")
    decoded, consumers = decode_remote_tracks(receiver_pc)

    await negotiate(sender_pc, receiver_pc)
    assert "a=msid:stream-x track-x" in sender_pc.localDescription.sdp
    await asyncio.wait_for(started.wait(), timeout=10)
    frames = make_frames()
    for frame in frames:
        assert track.push(frame)
        await asyncio.sleep(0.005)

    await wait_until(lambda: len(decoded) >= len(frames) // 2, within=10)

    assert isinstance(sender_encoder(transceiver.sender), packetizer)
    assert encoders_created == []
    assert track.frames_sent == len(frames)
    if kind == "video":
        assert {(f.width, f.height) for f in decoded} == {(320, 240)}
    else:
        assert {f.sample_rate for f in decoded} == {48000}
    track.stop()
    for consumer in consumers:
        consumer.cancel()


async def test_a_full_queue_discards_its_backlog_and_stop_wakes_the_reader() -> None:
    track = ForwardedTrack("video", 90000, 2)
    frame = EncodedFrame(b"x", 0, True)
    assert track.push(frame) and track.push(frame)

    assert not track.push(frame)
    assert track.frames_dropped == 3

    reader = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0.01)
    track.stop()
    with pytest.raises(aiortc.mediastreams.MediaStreamError):
        await reader
    assert track.push(frame)  # an ended track swallows frames


def test_a_packetizer_refuses_to_encode() -> None:
    with pytest.raises(TypeError):
        Vp8Packetizer().encode(VideoFrame(width=16, height=16))


async def test_a_subscribers_nack_is_answered_by_the_sfu_with_a_retransmission() -> None:
    room = Room("nack")
    presenter = PublisherBot("presenter")
    viewer = SubscriberBot("viewer-1")
    try:
        await presenter.publish(room)
        await viewer.subscribe(room)
        await viewer.wait_for_frames("video", within=10)
        receiver = next(t.receiver for t in viewer.pc.getTransceivers() if t.kind == "video")
        sfu_sender = next(
            s for s in room.subscription_senders("viewer-1").values() if s.kind == "video"
        )

        def rtx_seen() -> bool:
            return sfu_sender._rtx_ssrc in {s.source for s in receiver.getSynchronizationSources()}

        streams = receiver._RTCRtpReceiver__remote_streams  # type: ignore[attr-defined]
        last_sequence = streams[sfu_sender._ssrc].max_seq
        assert not rtx_seen()  # loopback loses nothing by itself

        await receiver._send_rtcp_nack(sfu_sender._ssrc, [last_sequence])

        await wait_until(rtx_seen, within=3)
        video = next(t for t in room.tracks if t.kind == "video")
        output = room.published_track(video.track_id).output("viewer-1")
        assert output is not None and output.direct is not None
        assert output.direct.retransmissions >= 1  # answered from the direct sender's history
    finally:
        await viewer.close()
        await presenter.close()
        await room.close()


async def test_a_senders_rtcp_counters_have_the_names_the_direct_sender_sets(
    pcs: Callable[[], RTCPeerConnection],
) -> None:
    sender = pcs().addTransceiver("video", direction="sendonly").sender
    for name in ("ntp_timestamp", "rtp_timestamp", "octet_count", "packet_count"):
        assert getattr(sender, f"_RTCRtpSender__{name}") == 0
    assert isinstance(sender._ssrc, int) and isinstance(sender._rtx_ssrc, int)
    assert callable(sender._retransmit)


@pytest.mark.parametrize(
    ("kind", "codec", "make_frames"),
    [
        ("video", "VP8", lambda: encoded_video("VP8", 12)),
        ("video", "H264", lambda: encoded_video("H264", 12)),
        ("audio", "opus", lambda: encoded_opus(30)),
    ],
)
async def test_a_direct_sender_sends_frames_a_peer_decodes_and_reports_them_in_rtcp(
    pcs: Callable[[], RTCPeerConnection],
    encoders_created: list[str],
    kind: str,
    codec: str,
    make_frames: Callable[[], list[EncodedFrame]],
) -> None:
    sender_pc, receiver_pc = pcs(), pcs()
    clock_rate = 90000 if kind == "video" else 48000
    started = asyncio.Event()
    track = ForwardedTrack(kind, clock_rate, 64, track_id="track-d", on_start=started.set)
    transceiver = sender_pc.addTransceiver(track, direction="sendonly")
    transceiver.setCodecPreferences(capabilities_for(kind, codec))
    install_packetizer(transceiver.sender, codec)
    track.direct = DirectRtpSender(transceiver.sender)
    assert not track.sends_directly  # not negotiated yet
    decoded, consumers = decode_remote_tracks(receiver_pc)

    await negotiate(sender_pc, receiver_pc)
    await asyncio.wait_for(started.wait(), timeout=10)
    assert track.sends_directly and _wire(transceiver.sender) is not None
    stamper = track.direct.stamper
    assert stamper is not None and stamper.parameters.ssrc == transceiver.sender._ssrc
    assert stamper.parameters.mid == transceiver.mid and stamper.parameters.mid_extension_id
    if kind == "video":
        assert stamper.parameters.rtx_ssrc == transceiver.sender._rtx_ssrc
        assert stamper.parameters.rtx_payload_type is not None
    packetizer = packetizer_for(codec)
    frames = make_frames()
    for frame in frames:
        assert track.send(packetizer.packetize(frame.data), frame.timestamp)
        await asyncio.sleep(0.005)

    await wait_until(lambda: len(decoded) >= len(frames) // 2, within=10)

    assert encoders_created == []
    assert track.frames_sent == len(frames)
    if kind == "video":
        assert {(f.width, f.height) for f in decoded} == {(320, 240)}
    else:
        assert {f.sample_rate for f in decoded} == {48000}
    sender_stats = (await transceiver.sender.getStats()).values()
    outbound = [s for s in sender_stats if s.type == "outbound-rtp"]
    assert outbound[0].packetsSent == stamper.packets_sent > 0
    receiver = receiver_pc.getTransceivers()[0].receiver

    async def sender_reported() -> bool:
        stats = (await receiver.getStats()).values()
        return any(s.type == "remote-outbound-rtp" and s.packetsSent > 0 for s in stats)

    deadline = asyncio.get_running_loop().time() + 5
    while not await sender_reported():  # RTCP SRs go out every 0.5-1.5 s
        assert asyncio.get_running_loop().time() < deadline, "no sender report with our counters"
        await asyncio.sleep(0.1)
    track.stop()
    for consumer in consumers:
        consumer.cancel()
