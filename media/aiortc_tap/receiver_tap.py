"""The tap of a receiver's jitter buffer: a remote track's encoded frames, before the decoder.

Reaches into `RTCRtpReceiver.__jitter_buffer`, `JitterBuffer._origin` and `_packets`,
`RtpPacket._data` and `RTCRtpReceiver._send_rtcp_pli`; pinned by
`tests/media/test_aiortc_tap.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiortc import RTCRtpReceiver
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtp import RtpPacket

from media.aiortc_tap.arrival import Tasks, receive_rtp_on_arrival
from media.frames import EncodedFrame
from media.keyframes import is_keyframe
from media.sequence import LatePacketFilter, uint16_newer

logger = logging.getLogger(__name__)

# Name-mangled private attribute (class-private `__x` becomes `_Class__x`).
_RECEIVER_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"


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
        self._tasks = Tasks()
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

