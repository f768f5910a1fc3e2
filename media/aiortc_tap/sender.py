"""What the SFU changes on an aiortc `RTCRtpSender`: a packetizer in place of its encoder, the
msid stream its track is announced in, and the feedback it reports (PLI/FIR, REMB, receiver
reports, NACKs).

Reaches into `RTCRtpSender.__encoder`, `_stream_id`, `_send_keyframe`, `_handle_rtcp_packet`
and `_ssrc`; pinned by `tests/media/test_aiortc_tap.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from aiortc import RTCRtpSender
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_RTPFB_NACK,
    AnyRtcpPacket,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    unpack_remb_fci,
)

from media.aiortc_tap.packetizer import Packetizer, packetizer_for

# Name-mangled private attribute (class-private `__x` becomes `_Class__x`).
_SENDER_ENCODER = "_RTCRtpSender__encoder"


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


class FeedbackListener(Protocol):
    """What a subscriber's receiver tells the SFU about its downlink (a `LinkEstimate`)."""

    def on_remb(self, bitrate: float) -> None:
        """The receiver's estimate of the bitrate it can take (REMB), bits per second."""
        ...

    def on_report(self, fraction_lost: float, jitter: float) -> None:
        """A receiver report block for this sender: loss (0-1) and jitter in seconds."""
        ...

    def on_nacks(self, count: int) -> None:
        """The receiver asked for `count` packets again."""
        ...


def watch_feedback(sender: RTCRtpSender, clock_rate: int, listener: FeedbackListener) -> None:
    """Tell `listener` of the REMB, receiver reports and NACKs the remote peer sends this sender.

    aiortc's sender reads them only for its own encoder and stats; the SFU needs them to pick
    each subscriber's quality. The original handler still runs first (it answers NACKs).
    """
    original: Callable[[AnyRtcpPacket], object] = sender._handle_rtcp_packet

    async def handle_rtcp_packet(packet: AnyRtcpPacket) -> None:
        await original(packet)  # type: ignore[misc]
        ssrc = sender._ssrc
        if isinstance(packet, (RtcpRrPacket, RtcpSrPacket)):
            for report in packet.reports:
                if report.ssrc == ssrc:
                    listener.on_report(report.fraction_lost / 256, report.jitter / clock_rate)
        elif isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            listener.on_nacks(len(packet.lost))
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
            except ValueError:
                return  # another application-layer feedback, not REMB
            # A REMB names every stream of the connection and reaches each of their senders:
            # the same estimate, told more than once.
            if ssrc in ssrcs:
                listener.on_remb(float(bitrate))

    # An instance attribute shadows the class's method for this sender only.
    sender._handle_rtcp_packet = handle_rtcp_packet  # type: ignore[method-assign]


def install_packetizer(sender: RTCRtpSender, codec_name: str) -> Packetizer:
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

