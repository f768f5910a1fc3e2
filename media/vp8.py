"""VP8 RTP payloads (RFC 7741) built from one encoded frame, byte for byte as aiortc builds them.

aiortc's `Vp8Encoder._packetize` serializes a payload-descriptor object for every packet; the
descriptor only differs in its start bit, so here both forms are packed once per frame.
"""

from __future__ import annotations

import struct

# aiortc's `PACKET_MAX`: payload descriptor and VP8 data together, per packet.
PAYLOAD_MAX = 1300
# X (extensions present), then I (picture id present), then the 15-bit picture id with M set.
_EXTENDED, _START = 0x80, 0x10
_PICTURE_ID = struct.Struct("!BH")
DESCRIPTOR_SIZE = 1 + _PICTURE_ID.size


def vp8_payloads(data: bytes, picture_id: int) -> list[bytes]:
    """Split one encoded VP8 frame into RTP payloads carrying `picture_id` (0 to 2**15 - 1)."""
    extension = _PICTURE_ID.pack(0x80, 0x8000 | picture_id)
    first = bytes([_EXTENDED | _START]) + extension
    rest = bytes([_EXTENDED]) + extension
    step = PAYLOAD_MAX - DESCRIPTOR_SIZE
    return [
        (rest if start else first) + data[start : start + step]
        for start in range(0, len(data), step)
    ]
