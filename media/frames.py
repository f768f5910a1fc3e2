"""The unit the SFU forwards: one encoded frame as the publisher's jitter buffer assembled it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """An encoded audio or video frame, ready to be packetized again without decoding.

    `data` is what aiortc's depacketizer produced: a raw VP8 frame, Annex-B H.264 (start codes
    included) or one Opus packet. `timestamp` is the RTP timestamp (uint32, codec clock rate).
    """

    data: bytes
    timestamp: int
    keyframe: bool
