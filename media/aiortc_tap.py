"""The one place that reaches into aiortc's private internals, pinned to aiortc 1.16.0.

aiortc has no public hook for forwarding encoded media: its receiver always decodes and its
sender encodes decoded frames. This module taps a receiver's jitter buffer for the encoded frames
(so the decoder thread sits idle), sends a PLI on a receiver's connection, feeds encoded frames
to a sender with a packetizer in place of its encoder, and reports a sender's PLI/FIR.
`tests/media/test_aiortc_tap.py` exercises every private name used here: if an aiortc upgrade
breaks them, that file fails, not the product.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import random
from collections.abc import Callable, Coroutine
from typing import Any

import aiortc
import av
from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.codecs.base import Encoder
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtp import RtpPacket

from media.frames import EncodedFrame
from media.keyframes import is_keyframe
from media.sequence import LatePacketFilter, uint16_newer

logger = logging.getLogger(__name__)

PINNED_AIORTC_VERSION = "1.16.0"

# Name-mangled private attributes (class-private `__x` becomes `_Class__x`).
_RECEIVER_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
_SENDER_ENCODER = "_RTCRtpSender__encoder"

VP8_PICTURE_ID_MODULO = 1 << 15


def aiortc_version_is_pinned() -> bool:
    """Whether the installed aiortc is the version this module was written against."""
    return aiortc.__version__ == PINNED_AIORTC_VERSION


class _Tasks:
    """Keeps fire-and-forget RTCP sends referenced until they finish (asyncio holds weak refs)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Future[None]] = set()

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class ReceiverTap:
    """Takes a remote track's encoded frames from its receiver, before the decoder.

    Installs itself on the receiver's jitter buffer (`RTCRtpReceiver.__jitter_buffer.add`): every
    complete frame goes to `on_frame`, and the receiver is told no frame was completed, so nothing
    reaches the decoder queue and the decoder thread stays blocked, idle. Install it before media
    flows (right after `setRemoteDescription`). NACK, REMB and RTCP reports keep working: they
    happen in the receiver before the jitter buffer. A video frame is released as soon as its
    marker packet completes it. Opus packets are whole frames: they bypass the jitter buffer
    (which would hold them 80 ms) and are forwarded on arrival, in order.
    """

    def __init__(
        self,
        receiver: RTCRtpReceiver,
        codec_name: str,
        on_frame: Callable[[EncodedFrame], None],
        on_source_change: Callable[[], None] | None = None,
        on_loss: Callable[[], None] | None = None,
    ) -> None:
        self._receiver = receiver
        self._codec_name = codec_name
        self._on_frame = on_frame
        self._on_source_change = on_source_change
        self._on_loss = on_loss
        self._tasks = _Tasks()
        self.media_ssrc: int | None = None
        self.frames_tapped = 0
        self._packet_is_frame = codec_name.upper() == "OPUS"
        self._late_filter = LatePacketFilter()
        self._highest_sequence: int | None = None
        jitter_buffer = getattr(receiver, _RECEIVER_JITTER_BUFFER)
        self._jitter_buffer: JitterBuffer = jitter_buffer
        self._jitter_buffer_add: Callable[[RtpPacket], tuple[bool, JitterFrame | None]] = (
            jitter_buffer.add
        )
        # An instance attribute shadows the class's method for this receiver only.
        jitter_buffer.add = self._add

    def _add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        # RTX is already unwrapped here, so this is the media SSRC a PLI must name.
        if packet.ssrc != self.media_ssrc:
            changed = self.media_ssrc is not None
            self.media_ssrc = packet.ssrc
            if changed and self._on_source_change is not None:
                # A new stream on the same track (publisher restarted its sender): its
                # timestamps and frame references have nothing to do with the old ones.
                self._on_source_change()
        if self._packet_is_frame:
            if packet.payload and self._late_filter.accept(packet.sequence_number):
                self._forward(EncodedFrame(packet.payload, packet.timestamp, keyframe=True))
            return False, None
        late = self._highest_sequence is not None and not uint16_newer(
            packet.sequence_number, self._highest_sequence
        )
        if not late:
            self._highest_sequence = packet.sequence_number
        pli_flag, frame = self._jitter_buffer_add(packet)
        if pli_flag and self._on_loss is not None:
            # The jitter buffer gave up on missing packets (the receiver sends its own PLI):
            # frames after the hole reference pictures subscribers will never get.
            self._on_loss()
        if frame is not None:
            self._forward_video(frame)
        if packet.marker or late:
            # aiortc only releases a frame when the next frame's first packet arrives: a frame
            # interval of delay, and a static screen share would sit on its last frame. The
            # marker bit ends a frame, so release it as soon as it is complete.
            while (complete := _take_complete_frame(self._jitter_buffer)) is not None:
                self._forward_video(complete)
        return pli_flag, None

    def _forward_video(self, frame: JitterFrame) -> None:
        keyframe = is_keyframe(self._codec_name, frame.data)
        self._forward(EncodedFrame(frame.data, frame.timestamp, keyframe))

    def _forward(self, frame: EncodedFrame) -> None:
        self.frames_tapped += 1
        try:
            self._on_frame(frame)
        except Exception:
            # An error in forwarding must not kill the publisher's RTP handling.
            logger.exception("tap_forward_failed codec=%s", self._codec_name)

    def request_keyframe(self) -> bool:
        """Send a PLI to the publisher; False until the first packet told us its SSRC."""
        if self.media_ssrc is None:
            return False
        self._tasks.spawn(send_picture_loss(self._receiver, self.media_ssrc))
        return True


def _take_complete_frame(jitter_buffer: JitterBuffer) -> JitterFrame | None:
    """Remove and return the frame at the buffer's origin if all its packets are in.

    Complete means: packets contiguous from the origin, one timestamp, ending with the marker
    bit. Reads the buffer's `_origin` and `_packets`, and `_data` (the depayloaded payload the
    receiver stores on each packet), the way `JitterBuffer._remove_frame` does.
    """
    origin = jitter_buffer._origin
    if origin is None:
        return None
    capacity = jitter_buffer.capacity
    first = jitter_buffer._packets[origin % capacity]
    if first is None:
        return None
    packets: list[RtpPacket] = []
    for count in range(capacity):
        packet = jitter_buffer._packets[(origin + count) % capacity]
        if packet is None or packet.timestamp != first.timestamp:
            return None
        packets.append(packet)
        if packet.marker:
            jitter_buffer.remove(count + 1)
            return JitterFrame(
                data=b"".join(p._data for p in packets),  # type: ignore[attr-defined]
                timestamp=first.timestamp,
            )
    return None


async def send_picture_loss(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    """Send an RTCP PLI for `media_ssrc` on the receiver's connection (no-op before RTCP is up)."""
    await receiver._send_rtcp_pli(media_ssrc)


def watch_keyframe_requests(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call `callback` whenever the remote peer sends this sender a PLI or FIR.

    aiortc's `_send_keyframe` only sets a flag for its encoder; with a packetizer nobody reads
    it, so the request has to be routed to the publisher by us. The original is still called.
    """
    original: Callable[[], None] = sender._send_keyframe

    def send_keyframe() -> None:
        original()
        callback()

    # An instance attribute shadows the class's method for this sender only.
    sender._send_keyframe = send_keyframe  # type: ignore[method-assign]


class _Packetizer(Encoder):
    """Stands in for a sender's encoder: it only ever packetizes already encoded frames."""

    def encode(
        self, frame: av.frame.Frame, force_keyframe: bool = False
    ) -> tuple[list[bytes], int]:
        raise TypeError("the SFU forwards encoded frames; it never encodes")

    def pack(self, packet: av.Packet) -> tuple[list[bytes], int]:
        # ForwardedTrack stamps packets in the codec clock (time_base 1/clock_rate), which is
        # what the sender adds to its RTP timestamp origin.
        assert packet.pts is not None
        return self.packetize(bytes(packet)), packet.pts

    def packetize(self, data: bytes) -> list[bytes]:
        """Split one encoded frame into RTP payloads."""
        raise NotImplementedError


class Vp8Packetizer(_Packetizer):
    """VP8 payload descriptors (RFC 7741) with this sender's own picture ids."""

    def __init__(self) -> None:
        self.picture_id = random.randrange(VP8_PICTURE_ID_MODULO)

    def packetize(self, data: bytes) -> list[bytes]:
        payloads = Vp8Encoder._packetize(data, self.picture_id)
        self.picture_id = (self.picture_id + 1) % VP8_PICTURE_ID_MODULO
        return payloads


class H264Packetizer(_Packetizer):
    """H.264 packetization mode 1 (RFC 6184: single NAL, STAP-A, FU-A) from Annex-B."""

    def packetize(self, data: bytes) -> list[bytes]:
        return H264Encoder._packetize(H264Encoder._split_bitstream(data))


class OpusPacketizer(_Packetizer):
    """One Opus packet per RTP payload (RFC 7587)."""

    def packetize(self, data: bytes) -> list[bytes]:
        return [data]


def packetizer_for(codec_name: str) -> _Packetizer:
    """The packetizer for a negotiated codec name (`VP8`, `H264`, `opus`)."""
    name = codec_name.upper()
    if name == "VP8":
        return Vp8Packetizer()
    if name == "H264":
        return H264Packetizer()
    if name == "OPUS":
        return OpusPacketizer()
    raise ValueError(f"cannot forward codec {codec_name!r}")


def install_packetizer(sender: RTCRtpSender, codec_name: str) -> _Packetizer:
    """Give a sender a packetizer so it never creates an encoder (it only creates one if None)."""
    packetizer = packetizer_for(codec_name)
    setattr(sender, _SENDER_ENCODER, packetizer)
    return packetizer


def set_stream_id(sender: RTCRtpSender, stream_id: str) -> None:
    """Set the msid stream a sender's track is announced in (set before creating the offer).

    aiortc puts every track of a connection in one stream; browsers only lip-sync audio and video
    of the same stream, so each publisher's tracks must keep the publisher's own stream id.
    """
    sender._stream_id = stream_id


def sender_encoder(sender: RTCRtpSender) -> object:
    """The object a sender packs or encodes with (our packetizer, an aiortc encoder, or None)."""
    return getattr(sender, _SENDER_ENCODER)


class ForwardedTrack(MediaStreamTrack):
    """A track whose `recv()` yields encoded frames as `av.Packet`s, which a sender only packs.

    Frames wait in a bounded queue: when a subscriber's sender falls behind, the backlog is
    discarded (stale media is worse than a skip) and `push` says so, so the caller can ask for
    a keyframe and hold back delta frames until it arrives. `on_start` runs when the sender first
    asks for a frame, that is once the subscriber's connection is up.
    """

    def __init__(
        self,
        kind: str,
        clock_rate: int,
        max_frames: int,
        *,
        track_id: str | None = None,
        on_start: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.kind = kind
        if track_id is not None:
            # MediaStreamTrack keeps its id in `_id`; the sender announces it in the SDP msid.
            self._id = track_id
        self._on_start = on_start
        self.started = False
        self._time_base = fractions.Fraction(1, clock_rate)
        self._queue: asyncio.Queue[EncodedFrame | None] = asyncio.Queue(max_frames)
        self.frames_sent = 0
        self.frames_dropped = 0

    def push(self, frame: EncodedFrame) -> bool:
        """Queue a frame; False when the queue was full and its backlog was discarded."""
        if self.readyState != "live":
            return True
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.frames_dropped += self._discard_backlog() + 1
            return False
        return True

    async def recv(self) -> av.Packet:
        """The next encoded frame, as a packet stamped in the codec's clock."""
        if self.readyState != "live":
            raise MediaStreamError
        if not self.started:
            # The sender pulls its first frame once DTLS is up: only now is it worth asking
            # the publisher for a keyframe, and only now does queueing frames make sense.
            self.started = True
            if self._on_start is not None:
                self._on_start()
        frame = await self._queue.get()
        if frame is None:
            raise MediaStreamError
        packet = av.Packet(frame.data)
        packet.pts = frame.timestamp
        packet.time_base = self._time_base
        self.frames_sent += 1
        return packet

    def stop(self) -> None:
        """End the track; a sender waiting in `recv()` wakes up and stops."""
        if self.readyState == "live":
            self._discard_backlog()
            self._queue.put_nowait(None)
        super().stop()

    def _discard_backlog(self) -> int:
        discarded = 0
        while not self._queue.empty():
            self._queue.get_nowait()
            discarded += 1
        return discarded
