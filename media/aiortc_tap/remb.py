"""One receiver estimate (REMB) for all of a simulcast camera's layers, as the publisher's
congestion control expects.

aiortc runs a bitrate estimator per receiver and each sends a REMB naming only its own stream.
A browser takes every REMB as the estimate for its whole connection, so with one receiver per
layer it would hear the lowest layer's small estimate as the total and starve the others. Here
each layer's REMB is rewritten as the sum of the layers' latest estimates, naming all their
streams. Reaches into `RTCRtpReceiver._send_rtcp`; pinned by `tests/media/test_aiortc_tap.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from aiortc import RTCRtpReceiver
from aiortc.rtp import (
    RTCP_PSFB_APP,
    AnyRtcpPacket,
    RtcpPsfbPacket,
    pack_remb_fci,
    unpack_remb_fci,
)


def combine_estimates(receivers: Sequence[RTCRtpReceiver]) -> None:
    """Make every REMB these receivers send carry their summed estimate and all their streams."""
    latest: dict[int, tuple[int, list[int]]] = {}

    for index, receiver in enumerate(receivers):
        send_rtcp: Callable[[AnyRtcpPacket], Awaitable[None]] = receiver._send_rtcp

        async def send_combined(
            packet: AnyRtcpPacket,
            index: int = index,
            send_rtcp: Callable[[AnyRtcpPacket], Awaitable[None]] = send_rtcp,
        ) -> None:
            if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
                try:
                    latest[index] = unpack_remb_fci(packet.fci)
                except ValueError:
                    pass
                else:
                    total = sum(bitrate for bitrate, _ in latest.values())
                    ssrcs = sorted({ssrc for _, named in latest.values() for ssrc in named})
                    packet.fci = pack_remb_fci(total, ssrcs)
            await send_rtcp(packet)

        # An instance attribute shadows the class's method for this receiver only.
        receiver._send_rtcp = send_combined  # type: ignore[method-assign]
