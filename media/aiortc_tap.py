"""The one place that reaches into aiortc's private internals, pinned to aiortc 1.16.0.

aiortc has no public hook for forwarding encoded media: its receiver always decodes and its
sender encodes decoded frames. This module taps a receiver's jitter buffer for the encoded frames
(so the decoder thread sits idle), hands a connection's incoming RTP to its receiver as the
datagram arrives (`receive_rtp_on_arrival`), sends a PLI on a receiver's connection, feeds
encoded frames to a sender with a packetizer in place of its encoder, and reports a sender's
PLI/FIR.
`tests/media/test_aiortc_tap.py` exercises every private name used here: if an aiortc upgrade
breaks them, that file fails, not the product.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import random
from collections.abc import Callable, Coroutine
from typing import Any, cast

import aiortc
import av
import pylibsrtp
from aiortc import RTCDtlsTransport, RTCRtpReceiver, RTCRtpSender, clock
from aiortc.codecs import is_rtx
from aiortc.codecs.base import Encoder
from aiortc.codecs.h264 import H264Encoder
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import RtpPacket, is_rtcp
from pylibsrtp import Session

from media.frames import EncodedFrame
from media.keyframes import is_keyframe
from media.rtp_stamper import RtpStamper, StreamParameters, now_ntp
from media.sequence import LatePacketFilter, uint16_newer
from media.srtp_protect import SrtpProtector
from media.udp_batch import DatagramTransport, UdpBatchSender
from media.versions import REQUIRED
from media.vp8 import vp8_payloads

logger = logging.getLogger(__name__)

PINNED_AIORTC_VERSION = REQUIRED["aiortc"]

# Name-mangled private attributes (class-private `__x` becomes `_Class__x`).
_RECEIVER_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
_SENDER_ENCODER = "_RTCRtpSender__encoder"
# The counters a sender's RTCP sender reports are built from (`RTCRtpSender._run_rtcp`).
_SENDER_NTP_TIMESTAMP = "_RTCRtpSender__ntp_timestamp"
_SENDER_RTP_TIMESTAMP = "_RTCRtpSender__rtp_timestamp"
_SENDER_OCTET_COUNT = "_RTCRtpSender__octet_count"
_SENDER_PACKET_COUNT = "_RTCRtpSender__packet_count"
# The DTLS transport's receive counters (its `transport` stats).
_DTLS_RX_BYTES = "_RTCDtlsTransport__rx_bytes"
_DTLS_RX_PACKETS = "_RTCDtlsTransport__rx_packets"
# Set on a DTLS transport once `receive_rtp_on_arrival` is installed on it.
_RECEIVES_ON_ARRIVAL = "_junta_receives_rtp_on_arrival"

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
# A subscriber whose socket has this much unsent data queued is not keeping up: its frames are
# dropped (and it resumes from a keyframe) rather than buffered without bound.
MAX_UNSENT_BYTES = 1 << 20

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


def receive_rtp_on_arrival(dtls: RTCDtlsTransport) -> None:
    """Hand the transport's incoming SRTP media packets to their receiver as each arrives.

    aioice queues every datagram (`Connection.data_received`) for the DTLS transport's task,
    which wakes once per packet to unprotect, parse and route it (`RTCDtlsTransport._recv_next`):
    for a publisher's video, one extra event-loop turn, a future and a task step per packet,
    a good part of the SFU's fixed cost per published track. Installed here, an RTP packet that
    arrives with nothing queued before it takes the same steps in the datagram callback itself;
    DTLS, RTCP, and anything while the queue holds earlier datagrams still go through the
    queue, so the order of everything the task sees is kept. Idempotent.
    """
    if getattr(dtls, _RECEIVES_ON_ARRIVAL, False):
        return
    setattr(dtls, _RECEIVES_ON_ARRIVAL, True)
    connection = dtls.transport._connection
    queue = connection._queue
    enqueue = connection.data_received
    tasks = _Tasks()

    def data_received(data: bytes, component: int) -> None:
        session = dtls._rx_srtp
        if (
            session is None
            or not data
            or not queue.empty()
            or not 127 < data[0] < 192
            or dtls._state != DtlsState.CONNECTED
            or is_rtcp(data)
        ):
            enqueue(data, component)
            return
        arrival_time_ms = clock.current_ms()
        setattr(dtls, _DTLS_RX_BYTES, getattr(dtls, _DTLS_RX_BYTES) + len(data))
        setattr(dtls, _DTLS_RX_PACKETS, getattr(dtls, _DTLS_RX_PACKETS) + 1)
        try:
            packet = RtpPacket.parse(session.unprotect(data), dtls._rtp_header_extensions_map)
        except (pylibsrtp.Error, ValueError):
            return  # dropped as aiortc drops it: a replayed, forged or malformed packet
        receiver = dtls._rtp_router.route_rtp(packet)
        if receiver is not None:
            _run_soon_or_now(receiver._handle_rtp_packet(packet, arrival_time_ms), tasks)

    # An instance attribute shadows the method for this connection only; aioice's protocol
    # looks it up on every datagram.
    connection.data_received = data_received  # type: ignore[method-assign]


# `_step`'s answer once the coroutine has ended (while it waits, a step gives what it yields:
# an asyncio future, or None for a bare yield).
_FINISHED = object()


def _run_soon_or_now(coroutine: Coroutine[Any, Any, None], tasks: _Tasks) -> None:
    """Run `coroutine` here until it first waits, and the rest of it as a task.

    The receiver's packet handler awaits only to send RTCP (NACK, PLI, REMB), which aioice does
    without waiting on a host candidate's socket, so it nearly always completes in the first
    step; when it does wait, the task resumes it exactly where an event loop would have.
    """
    waited_on = _step(coroutine)
    if waited_on is not _FINISHED:
        tasks.spawn(_resume(coroutine, waited_on))


async def _resume(coroutine: Coroutine[Any, Any, None], waited_on: Any) -> None:
    """Drive a coroutine that has yielded `waited_on` to its end."""
    while waited_on is not _FINISHED:
        if waited_on is None:
            await asyncio.sleep(0)  # a bare yield: give the loop one turn
        else:
            # The coroutine reads the future's outcome itself when resumed; the flag is the one
            # a task clears on a future its coroutine yields.
            waited_on._asyncio_future_blocking = False
            await asyncio.wait((waited_on,))
        waited_on = _step(coroutine)


def _step(coroutine: Coroutine[Any, Any, None]) -> Any:
    """Resume `coroutine` once: what it waits on next, or `_FINISHED` (errors are logged)."""
    try:
        return coroutine.send(None)
    except StopIteration:
        return _FINISHED
    except Exception:
        logger.exception("rtp_receive_failed")
        return _FINISHED


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
        receive_rtp_on_arrival(receiver.transport)

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
        payloads = vp8_payloads(data, self.picture_id)
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


def stream_parameters(sender: RTCRtpSender, parameters: RTCRtpSendParameters) -> StreamParameters:
    """The RTP stream a sender was told to send: payload types, SSRCs, mid and extension ids."""
    codec = parameters.codecs[0]
    rtx_payload_type = next(
        (
            c.payloadType
            for c in parameters.codecs
            if is_rtx(c) and c.parameters.get("apt") == codec.payloadType
        ),
        None,
    )
    extension_ids = {ext.uri: ext.id for ext in parameters.headerExtensions}
    if codec.payloadType is None:
        raise ValueError("a negotiated codec has a payload type")
    return StreamParameters(
        payload_type=codec.payloadType,
        ssrc=sender._ssrc,
        mid=parameters.muxId or None,
        mid_extension_id=extension_ids.get(MID_URI),
        abs_send_time_extension_id=extension_ids.get(ABS_SEND_TIME_URI),
        rtx_payload_type=rtx_payload_type,
        rtx_ssrc=sender._rtx_ssrc,
    )


class DirectRtpSender:
    """Sends a subscriber's frames on an `RTCRtpSender`'s transport without its RTP loop.

    aiortc's sender pulls one frame at a time from its track in a coroutine, then builds,
    serializes and sends every packet through three layers of coroutines: per subscriber, per
    packet. Here the payloads are packetized once per published track and each subscriber only
    gets its header stamped (`RtpStamper`), SRTP-protected (`SrtpProtector`) and handed to the
    socket, a frame's packets in one segmented send where the kernel allows (`UdpBatchSender`),
    all synchronously from the publisher's receive path. The sender itself still runs RTCP (sender
    reports from the counters kept here, receiver reports, PLI/FIR) and answers NACKs, from our
    history. Attach before negotiation: the stream parameters are captured from `send()`.
    """

    def __init__(self, sender: RTCRtpSender) -> None:
        self._sender = sender
        self.stamper: RtpStamper | None = None
        self.retransmissions = 0
        self._batch = UdpBatchSender()
        self._srtp: SrtpProtector | None = None
        original_send = sender.send

        async def send(parameters: RTCRtpSendParameters) -> None:
            if self.stamper is None:
                self.stamper = RtpStamper(stream_parameters(sender, parameters))
            await original_send(parameters)

        async def retransmit(sequence_number: int) -> None:
            self._retransmit(sequence_number)

        # Instance attributes shadow the class's methods for this sender only.
        sender.send = send  # type: ignore[method-assign]
        sender._retransmit = retransmit  # type: ignore[method-assign]

    @property
    def ready(self) -> bool:
        """Whether the sender has been started (negotiated), so frames can be stamped."""
        return self.stamper is not None

    def send_frame(self, payloads: list[bytes], timestamp: int) -> bool:
        """Send one frame's packets; False if the subscriber's socket is backed up (dropped).

        A connection that is not (or no longer) up swallows the frame: the sender's own end
        (track stopped, connection closed) is handled by the caller.
        """
        stamper = self.stamper
        if stamper is None:
            return True
        wire = _wire(self._sender)
        if wire is None:
            return True
        session, transport, address = wire
        if transport.get_write_buffer_size() > MAX_UNSENT_BYTES:
            return False
        ntp = now_ntp()
        packets = self._protector(session).protect(stamper.stamp(payloads, timestamp, ntp))
        self._batch.send(transport, packets, address)
        sender = self._sender
        setattr(sender, _SENDER_NTP_TIMESTAMP, ntp)
        setattr(sender, _SENDER_RTP_TIMESTAMP, stamper.last_timestamp)
        setattr(sender, _SENDER_OCTET_COUNT, stamper.octets_sent)
        setattr(sender, _SENDER_PACKET_COUNT, stamper.packets_sent)
        return True

    def _retransmit(self, sequence_number: int) -> None:
        if self.stamper is None:
            return
        packet = self.stamper.retransmission(sequence_number, now_ntp())
        wire = _wire(self._sender)
        if packet is not None and wire is not None:
            session, transport, address = wire
            self.retransmissions += 1
            transport.sendto(self._protector(session).protect((packet,))[0], address)

    def _protector(self, session: Session) -> SrtpProtector:
        # DTLS sets the session up once per connection; keep its protector with it.
        protector = self._srtp
        if protector is None or protector.session is not session:
            protector = self._srtp = SrtpProtector(session)
        return protector


def _wire(sender: RTCRtpSender) -> tuple[Session, DatagramTransport, tuple[str, int]] | None:
    """The SRTP session and the UDP socket a sender's packets leave by, if connected.

    This is `RTCDtlsTransport._send_rtp` → `RTCIceTransport._send` → aioice `Connection.sendto`
    without the coroutines: the DTLS transport's SRTP session, the ICE connection's nominated
    pair for component 1, and that pair's datagram transport.
    """
    dtls = sender.transport
    if dtls is None or dtls._state != DtlsState.CONNECTED:
        return None
    pair = dtls.transport._connection._nominated.get(1)
    if pair is None:
        return None
    # asyncio's selector datagram transport has the write-buffer size (and the socket) its
    # typing leaves out.
    transport = cast(DatagramTransport, pair.protocol.transport)
    return dtls._tx_srtp, transport, pair.remote_addr


class ForwardedTrack(MediaStreamTrack):
    """A subscriber's copy of a published track, read by the subscriber's sender.

    With a `DirectRtpSender` (what the SFU uses), frames are sent as they come in, through
    `send`; `recv()` only tells us the sender started and then waits for the end. Without one,
    `recv()` yields encoded frames as `av.Packet`s, which the sender only packs: frames wait in a
    bounded queue, and when the sender falls behind, the backlog is discarded (stale media is
    worse than a skip) and `push` says so, so the caller can ask for a keyframe and hold back
    delta frames until it arrives. Either way `on_start` runs when the sender first asks for a
    frame, that is once the subscriber's connection is up.
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
        self.direct: DirectRtpSender | None = None
        self.frames_sent = 0
        self.frames_dropped = 0

    @property
    def sends_directly(self) -> bool:
        """Whether frames go out through `send` (payloads) rather than `push` (the queue)."""
        return self.direct is not None and self.direct.ready

    def send(self, payloads: list[bytes], timestamp: int) -> bool:
        """Send one packetized frame now; False when the subscriber is backed up (dropped)."""
        if self.readyState != "live" or self.direct is None:
            return True
        try:
            sent = self.direct.send_frame(payloads, timestamp)
        except Exception:
            # One subscriber's failure (SRTP, say) must not cost the others their frame.
            logger.exception("direct_send_failed track=%s", self.id)
            return True
        if not sent:
            self.frames_dropped += 1
            return False
        self.frames_sent += 1
        return True

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
        frame = await self._queue.get()  # only None (stop) once frames are sent directly
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
