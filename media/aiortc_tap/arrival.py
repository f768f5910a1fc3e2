"""A publisher's RTP handled as its datagram arrives, not one event-loop turn later.

Reaches into `RTCDtlsTransport` (`_rx_srtp`, `_state`, `_rtp_header_extensions_map`,
`_rtp_router`, its receive counters), aioice's `Connection` (`_queue`, `data_received`) and
`RTCRtpReceiver._handle_rtp_packet`; pinned by `tests/media/test_aiortc_tap.py`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

import pylibsrtp
from aiortc import RTCDtlsTransport, clock
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtp import RtpPacket, is_rtcp

logger = logging.getLogger(__name__)

# The DTLS transport's receive counters (its `transport` stats).
_DTLS_RX_BYTES = "_RTCDtlsTransport__rx_bytes"
_DTLS_RX_PACKETS = "_RTCDtlsTransport__rx_packets"
# Set on a DTLS transport once `receive_rtp_on_arrival` is installed on it.
_RECEIVES_ON_ARRIVAL = "_junta_receives_rtp_on_arrival"


class Tasks:
    """Keeps fire-and-forget RTCP sends referenced until they finish (asyncio holds weak refs)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Future[None]] = set()

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def receive_rtp_on_arrival(dtls: RTCDtlsTransport) -> None:
    """Hand the transport's incoming SRTP media packets to their receiver as each arrives.

    aioice queues every datagram (`Connection.data_received`) for the DTLS transport's task,
    which wakes once per packet to unprotect, parse and route it (`RTCDtlsTransport._recv_next`):
    for a publisher's video, one extra event-loop turn, a future and a task step per packet,
    a good part of the SFU's fixed cost per published track. Installed here, an RTP packet that
    arrives with nothing queued before it takes the same steps in the datagram callback itself;
    DTLS, RTCP, and anything while the queue holds earlier datagrams still go through the
    queue, so the order of everything the task sees is kept. Idempotent.
    """
    if getattr(dtls, _RECEIVES_ON_ARRIVAL, False):
        return
    setattr(dtls, _RECEIVES_ON_ARRIVAL, True)
    connection = dtls.transport._connection
    queue = connection._queue
    enqueue = connection.data_received
    tasks = Tasks()

    def data_received(data: bytes, component: int) -> None:
        session = dtls._rx_srtp
        if (
            session is None
            or not data
            or not queue.empty()
            or not 127 < data[0] < 192
            or dtls._state != DtlsState.CONNECTED
            or is_rtcp(data)
        ):
            enqueue(data, component)
            return
        arrival_time_ms = clock.current_ms()
        setattr(dtls, _DTLS_RX_BYTES, getattr(dtls, _DTLS_RX_BYTES) + len(data))
        setattr(dtls, _DTLS_RX_PACKETS, getattr(dtls, _DTLS_RX_PACKETS) + 1)
        try:
            packet = RtpPacket.parse(session.unprotect(data), dtls._rtp_header_extensions_map)
        except (pylibsrtp.Error, ValueError):
            return  # dropped as aiortc drops it: a replayed, forged or malformed packet
        receiver = dtls._rtp_router.route_rtp(packet)
        if receiver is not None:
            _run_soon_or_now(receiver._handle_rtp_packet(packet, arrival_time_ms), tasks)

    # An instance attribute shadows the method for this connection only; aioice's protocol
    # looks it up on every datagram.
    connection.data_received = data_received  # type: ignore[method-assign]


# `_step`'s answer once the coroutine has ended (while it waits, a step gives what it yields:
# an asyncio future, or None for a bare yield).
_FINISHED = object()


def _run_soon_or_now(coroutine: Coroutine[Any, Any, None], tasks: Tasks) -> None:
    """Run `coroutine` here until it first waits, and the rest of it as a task.

    The receiver's packet handler awaits only to send RTCP (NACK, PLI, REMB), which aioice does
    without waiting on a host candidate's socket, so it nearly always completes in the first
    step; when it does wait, the task resumes it exactly where an event loop would have.
    """
    waited_on = _step(coroutine)
    if waited_on is not _FINISHED:
        tasks.spawn(_resume(coroutine, waited_on))


async def _resume(coroutine: Coroutine[Any, Any, None], waited_on: Any) -> None:
    """Drive a coroutine that has yielded `waited_on` to its end."""
    while waited_on is not _FINISHED:
        if waited_on is None:
            await asyncio.sleep(0)  # a bare yield: give the loop one turn
        else:
            # The coroutine reads the future's outcome itself when resumed; the flag is the one
            # a task clears on a future its coroutine yields.
            waited_on._asyncio_future_blocking = False
            await asyncio.wait((waited_on,))
        waited_on = _step(coroutine)


def _step(coroutine: Coroutine[Any, Any, None]) -> Any:
    """Resume `coroutine` once: what it waits on next, or `_FINISHED` (errors are logged)."""
    try:
        return coroutine.send(None)
    except StopIteration:
        return _FINISHED
    except Exception:
        logger.exception("rtp_receive_failed")
        return _FINISHED

