"""Sending one frame's datagrams to one address in as few system calls as the kernel allows.

A forwarded video frame is a handful of RTP packets of one size plus a shorter last one, all to
the same subscriber. Linux UDP segmentation offload (`UDP_SEGMENT`, Linux 4.18+) takes such a run
as one buffer and one `sendmsg`, and the stack splits it into the same datagrams on the way out:
the receiver sees exactly what per-packet `sendto` calls would have produced, for one trip
through the socket layer and the IP stack instead of one per packet. Where the kernel or the
route refuses it, packets go one by one through the asyncio transport, as before.
"""

from __future__ import annotations

import errno
import socket
import struct
from collections.abc import Sequence
from typing import Protocol

# From <linux/udp.h>; the socket module does not name it.
UDP_SEGMENT = 103
# The kernel's cap on segments in one GSO send (UDP_MAX_SEGMENTS) and on a datagram's length.
MAX_SEGMENTS = 64
MAX_BATCH_BYTES = 65_000
# Errors that mean "no segmentation offload here" (old kernel, or a device without checksum
# offload), as opposed to a failure of this one send.
_UNSUPPORTED = frozenset({errno.EINVAL, errno.EIO, errno.ENOPROTOOPT, errno.EOPNOTSUPP})
_SEGMENT_SIZE = struct.Struct("=H")


class DatagramTransport(Protocol):
    """What we use of asyncio's selector datagram transport (its `_sock` included)."""

    _sock: socket.socket

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None: ...

    def get_write_buffer_size(self) -> int: ...

    def is_closing(self) -> bool: ...


def segment_runs(sizes: Sequence[int]) -> list[tuple[int, int]]:
    """Split packets (by length, in order) into runs one segmented send can carry.

    A run is `(start, end)`: packets of one length, the last of which may be shorter, within
    the kernel's segment and byte caps. The order of the packets is kept.
    """
    runs: list[tuple[int, int]] = []
    start = 0
    count = len(sizes)
    while start < count:
        segment = sizes[start]
        end = start + 1
        total = segment
        while end < count and end - start < MAX_SEGMENTS:
            size = sizes[end]
            if size > segment or total + size > MAX_BATCH_BYTES:
                break
            end += 1
            total += size
            if size < segment:
                break  # a shorter segment can only end a run
        runs.append((start, end))
        start = end
    return runs


class UdpBatchSender:
    """Sends lists of datagrams to one address per call, segmented when the kernel can."""

    def __init__(self) -> None:
        self.segmentation = hasattr(socket, "SOL_UDP") and hasattr(socket.socket, "sendmsg")

    def send(
        self, transport: DatagramTransport, packets: Sequence[bytes], address: tuple[str, int]
    ) -> None:
        """Send `packets`, in order, to `address` on `transport`'s socket."""
        if (
            len(packets) < 2
            or not self.segmentation
            or transport.get_write_buffer_size()
            or transport.is_closing()
        ):
            # Queued data must leave first (the transport keeps the order), and a closing
            # transport decides itself what becomes of late datagrams.
            self._one_by_one(transport, packets, address)
            return
        sock = transport._sock
        for start, end in segment_runs([len(packet) for packet in packets]):
            if end - start == 1:
                transport.sendto(packets[start], address)
                continue
            run = packets[start:end]
            try:
                sock.sendmsg(
                    run,
                    [(socket.SOL_UDP, UDP_SEGMENT, _SEGMENT_SIZE.pack(len(run[0])))],
                    0,
                    address,
                )
            except OSError as exc:
                if exc.errno in _UNSUPPORTED:
                    self.segmentation = False
                # The transport buffers on a full socket and reports other errors its own way.
                self._one_by_one(transport, packets[start:], address)
                return

    @staticmethod
    def _one_by_one(
        transport: DatagramTransport, packets: Sequence[bytes], address: tuple[str, int]
    ) -> None:
        for packet in packets:
            transport.sendto(packet, address)
