"""RTP sequence-number ordering for media forwarded packet by packet (Opus)."""

from __future__ import annotations

UINT16_MODULO = 1 << 16
UINT16_HALF = 1 << 15


def uint16_newer(a: int, b: int) -> bool:
    """Whether sequence number `a` comes after `b`, across the 16-bit wrap (RFC 3550 A.1)."""
    distance = (a - b) % UINT16_MODULO
    return 0 < distance < UINT16_HALF


class LatePacketFilter:
    """Passes packets in sequence order and drops duplicates and packets older than the last.

    Opus packets are whole frames, so the SFU forwards each on arrival instead of waiting in
    aiortc's audio jitter buffer (which holds four frames, 80 ms). A late packet is dropped: its
    frame slot has been concealed by the receiver by the time it could arrive.
    """

    def __init__(self) -> None:
        self._last: int | None = None

    def accept(self, sequence_number: int) -> bool:
        """Whether to forward the packet with this sequence number."""
        if self._last is not None and not uint16_newer(sequence_number, self._last):
            return False
        self._last = sequence_number
        return True
