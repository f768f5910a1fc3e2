"""Packetizers that stand in for an aiortc sender's encoder: the SFU forwards encoded frames,
so its senders only ever split them into RTP payloads.

Reaches into `H264Encoder._packetize` and `_split_bitstream`; pinned by
`tests/media/test_aiortc_tap.py`.
"""

from __future__ import annotations

import random

import av
from aiortc.codecs.base import Encoder
from aiortc.codecs.h264 import H264Encoder

from media.vp8 import vp8_payloads

VP8_PICTURE_ID_MODULO = 1 << 15


class Packetizer(Encoder):
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


class Vp8Packetizer(Packetizer):
    """VP8 payload descriptors (RFC 7741) with this sender's own picture ids."""

    def __init__(self) -> None:
        self.picture_id = random.randrange(VP8_PICTURE_ID_MODULO)

    def packetize(self, data: bytes) -> list[bytes]:
        payloads = vp8_payloads(data, self.picture_id)
        self.picture_id = (self.picture_id + 1) % VP8_PICTURE_ID_MODULO
        return payloads


class H264Packetizer(Packetizer):
    """H.264 packetization mode 1 (RFC 6184: single NAL, STAP-A, FU-A) from Annex-B."""

    def packetize(self, data: bytes) -> list[bytes]:
        return H264Encoder._packetize(H264Encoder._split_bitstream(data))


class OpusPacketizer(Packetizer):
    """One Opus packet per RTP payload (RFC 7587)."""

    def packetize(self, data: bytes) -> list[bytes]:
        return [data]


def packetizer_for(codec_name: str) -> Packetizer:
    """The packetizer for a negotiated codec name (`VP8`, `H264`, `opus`)."""
    name = codec_name.upper()
    if name == "VP8":
        return Vp8Packetizer()
    if name == "H264":
        return H264Packetizer()
    if name == "OPUS":
        return OpusPacketizer()
    raise ValueError(f"cannot forward codec {codec_name!r}")

