"""Per-subscriber RTP headers around payloads packetized once per published track.

Pure logic with no I/O: `RtpStamper.stamp` turns one frame's shared payloads into the RTP
packets of one subscriber's stream (its SSRC, sequence numbers, timestamp origin and header
extensions) and keeps a short history to answer NACKs, with RTX (RFC 4588) when negotiated.
Fed packet by packet in tests; `media.aiortc_tap.direct_sender.DirectRtpSender` puts it on the
wire.
"""

from __future__ import annotations

import random
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass

from media.sequence import UINT16_MODULO
from media.timestamps import UINT32_MASK, uint32_add

# aiortc keeps 128 packets per sender (`aiortc.rtp.RTP_HISTORY_SIZE`); about 1 s of 1.5 Mbps
# video, longer than a NACK round trip on any link a call survives on.
HISTORY_SIZE = 128
RTP_VERSION_BITS = 0x80
EXTENSION_BIT = 0x10
MARKER_BIT = 0x80
ONE_BYTE_PROFILE = 0xBEDE
TWO_BYTE_PROFILE = 0x1000
# Seconds from the NTP epoch (1900) to the Unix epoch (1970).
NTP_UNIX_OFFSET = 2_208_988_800

_HEADER = struct.Struct("!BBHLL")
_EXTENSION_HEADER = struct.Struct("!HH")
_SEQUENCE = struct.Struct("!H")
# Stands in for the abs-send-time value (always three bytes) when the fixed parts of a stream's
# extension block are packed.
ABS_SEND_TIME_PLACEHOLDER = b"\xff\xff\xff"


def ntp_time(unix_seconds: float) -> int:
    """A Unix time as a 64-bit NTP timestamp (32.32 fixed point, RFC 3550 4)."""
    return int((unix_seconds + NTP_UNIX_OFFSET) * (1 << 32)) & 0xFFFFFFFFFFFFFFFF


def abs_send_time(ntp: int) -> int:
    """The abs-send-time header extension value: NTP seconds in 6.18 fixed point."""
    return (ntp >> 14) & 0x00FFFFFF


def pack_header_extensions(extensions: Sequence[tuple[int, bytes]]) -> bytes:
    """An RTP header extension block (RFC 8285): profile, length, elements, padding.

    One-byte elements when every id is 1-14 and every value 1-16 bytes, two-byte otherwise;
    empty when there is nothing to carry.
    """
    if not extensions:
        return b""
    one_byte = all(0 < x_id <= 14 and 0 < len(value) <= 16 for x_id, value in extensions)
    if one_byte:
        profile = ONE_BYTE_PROFILE
        body = b"".join(bytes([(x_id << 4) | (len(v) - 1)]) + v for x_id, v in extensions)
    else:
        profile = TWO_BYTE_PROFILE
        body = b"".join(bytes([x_id, len(value)]) + value for x_id, value in extensions)
    body += b"\x00" * (-len(body) % 4)
    return _EXTENSION_HEADER.pack(profile, len(body) // 4) + body


@dataclass(frozen=True, slots=True)
class StreamParameters:
    """What the negotiation fixed for one outgoing stream (from the sender's parameters)."""

    payload_type: int
    ssrc: int
    mid: str | None = None
    mid_extension_id: int | None = None
    abs_send_time_extension_id: int | None = None
    rtx_payload_type: int | None = None
    rtx_ssrc: int | None = None


# What the history keeps of a sent packet: (sequence number, timestamp, marker, payload). A plain
# tuple: one is made per packet per subscriber, the hottest allocation in forwarding.
_Sent = tuple[int, int, bool, bytes]


class RtpStamper:
    """One subscriber's RTP stream: wraps shared payloads in this stream's headers.

    Sequence numbers and the timestamp origin start at random values (RFC 3550 5.1), as aiortc's
    sender does. The counters are what RTCP sender reports announce.
    """

    def __init__(
        self,
        parameters: StreamParameters,
        *,
        sequence_number: int | None = None,
        timestamp_origin: int | None = None,
        rtx_sequence_number: int | None = None,
    ) -> None:
        self.parameters = parameters
        self._sequence = (
            random.randrange(UINT16_MODULO) if sequence_number is None else sequence_number
        )
        self._rtx_sequence = (
            random.randrange(UINT16_MODULO) if rtx_sequence_number is None else rtx_sequence_number
        )
        self._timestamp_origin = (
            random.randrange(UINT32_MASK + 1) if timestamp_origin is None else timestamp_origin
        )
        self._history: list[_Sent | None] = [None] * HISTORY_SIZE
        self._mid = None if parameters.mid is None else parameters.mid.encode()
        self._extension_prefix, self._extension_suffix = self._extension_template()
        self.packets_sent = 0
        self.octets_sent = 0
        self.last_timestamp = 0
        self.last_ntp = 0

    def stamp(self, payloads: Sequence[bytes], timestamp: int, ntp: int) -> list[bytes]:
        """The packets carrying one frame; `timestamp` is in the subscriber's timeline.

        The marker bit ends the frame (the last packet), as aiortc sets it for audio and video.
        """
        if not payloads:
            return []
        timestamp = uint32_add(self._timestamp_origin, timestamp)
        extensions = self._extensions(ntp)
        first = RTP_VERSION_BITS | (EXTENSION_BIT if extensions else 0)
        params = self.parameters
        last = len(payloads) - 1
        sequence = self._sequence
        packets: list[bytes] = []
        history = self._history
        octets = 0
        for index, payload in enumerate(payloads):
            marker = index == last
            header = _HEADER.pack(
                first,
                (MARKER_BIT if marker else 0) | params.payload_type,
                sequence,
                timestamp,
                params.ssrc,
            )
            packets.append(b"".join((header, extensions, payload)))
            history[sequence % HISTORY_SIZE] = (sequence, timestamp, marker, payload)
            octets += len(payload)
            sequence = (sequence + 1) % UINT16_MODULO
        self._sequence = sequence
        self.octets_sent += octets
        self.packets_sent += len(payloads)
        self.last_timestamp = timestamp
        self.last_ntp = ntp
        return packets

    def retransmission(self, sequence_number: int, ntp: int) -> bytes | None:
        """The packet to resend for a NACKed sequence number (RTX-wrapped when negotiated).

        None when it has left the history (the receiver will ask for a keyframe instead).
        """
        sent = self._history[sequence_number % HISTORY_SIZE]
        if sent is None or sent[0] != sequence_number:
            return None
        _, timestamp, sent_marker, payload = sent
        params = self.parameters
        extensions = self._extensions(ntp)
        first = RTP_VERSION_BITS | (EXTENSION_BIT if extensions else 0)
        marker = MARKER_BIT if sent_marker else 0
        if params.rtx_payload_type is None or params.rtx_ssrc is None:
            header = _HEADER.pack(
                first, marker | params.payload_type, sequence_number, timestamp, params.ssrc
            )
            return b"".join((header, extensions, payload))
        header = _HEADER.pack(
            first, marker | params.rtx_payload_type, self._rtx_sequence, timestamp, params.rtx_ssrc
        )
        self._rtx_sequence = (self._rtx_sequence + 1) % UINT16_MODULO
        # RFC 4588 4: the RTX payload starts with the original sequence number.
        return b"".join((header, extensions, _SEQUENCE.pack(sequence_number), payload))

    def _extensions(self, ntp: int) -> bytes:
        # Only abs-send-time changes between packets; it is the last element, so the block is
        # a fixed prefix and suffix around its three bytes (packing it anew cost a third of a
        # frame's stamping).
        if not self.parameters.abs_send_time_extension_id:
            return self._extension_prefix
        return b"".join(
            (self._extension_prefix, abs_send_time(ntp).to_bytes(3), self._extension_suffix)
        )

    def _extension_template(self) -> tuple[bytes, bytes]:
        """The extension block around the abs-send-time value (the whole block without it)."""
        params = self.parameters
        elements: list[tuple[int, bytes]] = []
        if params.mid_extension_id and self._mid is not None:
            elements.append((params.mid_extension_id, self._mid))
        if not params.abs_send_time_extension_id:
            return pack_header_extensions(elements), b""
        elements.append((params.abs_send_time_extension_id, ABS_SEND_TIME_PLACEHOLDER))
        block = pack_header_extensions(elements)
        # Only zero padding follows the last value, so the placeholder's last occurrence is it.
        start = block.rindex(ABS_SEND_TIME_PLACEHOLDER)
        return block[:start], block[start + len(ABS_SEND_TIME_PLACEHOLDER) :]


def now_ntp() -> int:
    """The current wall-clock time as an NTP timestamp."""
    return ntp_time(time.time())
