"""What the SFU changes on an aiortc `RTCRtpSender`: a packetizer in place of its encoder, the
msid stream its track is announced in, and the PLI/FIR it reports.

Reaches into `RTCRtpSender.__encoder`, `_stream_id` and `_send_keyframe`; pinned by
`tests/media/test_aiortc_tap.py`.
"""

from __future__ import annotations

from collections.abc import Callable

from aiortc import RTCRtpSender

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

