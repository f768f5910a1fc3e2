"""Each socket's outgoing queue, bounded (issue 20, floods): a client that stops reading is cut
off instead of holding what the server sends it in memory without end.

Engine.IO keeps one `asyncio.Queue` per socket (`AsyncSocket.queue`, made by the public
`AsyncServer.create_queue`) that its websocket writer drains; the queue has no bound and
engineio (4.15.1) no option for one. When the client stops reading, TCP fills, the writer
waits in aiohttp's drain and every packet sent to that socket (its room's broadcasts included)
piles up in the queue. `OutgoingQueue` counts what it holds; past `limit` bytes it takes no more
and has the server cut the client off: its TCP connection is aborted, which ends the blocked
writer and the reader, and Engine.IO disconnects the socket as after any transport loss.

This reaches into python-socketio and python-engineio beyond their documented API, so it is
pinned to the versions in `PINNED` (tests/signaling/test_outgoing_queue.py checks every private
name used here): `socketio.AsyncServer._engineio_server_class` (to make the Engine.IO server),
`socketio.AsyncServer.environ` (the connection's WSGI-style environ by Engine.IO sid, where the
aiohttp driver keeps the request), `engineio.AsyncServer.sockets` and `AsyncSocket.queue`, and
that the writer takes packets with `get`/`get_nowait` and the server puts them with
`put`/`put_nowait` (`None` is the writer's stop signal)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import engineio
import socketio

log = logging.getLogger("junta.signaling")

PINNED = {"python-engineio": "4.15.1", "python-socketio": "5.18.1"}
DEFAULT_LIMIT = 1024 * 1024
_PACKET_OVERHEAD = 64  # so that many small packets count too


def packet_size(pkt: Any) -> int:
    """What one Engine.IO packet weighs in the queue (its payload, roughly)."""
    data = getattr(pkt, "data", None)
    return _PACKET_OVERHEAD + (len(data) if isinstance(data, str | bytes) else 0)


class OutgoingQueue(asyncio.Queue[Any]):
    """A socket's outgoing packets, at most `limit` bytes of them; `on_full(self)` runs once,
    when a packet does not fit, and the queue takes no more packets after (only `None`)."""

    def __init__(self, limit: int, on_full: Callable[[OutgoingQueue], None]) -> None:
        super().__init__()
        self.limit = limit
        self.queued_bytes = 0
        self.overflowed = False
        self._on_full = on_full

    def put_nowait(self, item: Any) -> None:
        if item is not None:
            if self.overflowed:
                return  # the client is being cut off: nothing more will reach it
            size = packet_size(item)
            if self.queued_bytes + size > self.limit:
                self.overflowed = True
                self._on_full(self)
                return
            self.queued_bytes += size
        super().put_nowait(item)

    def get_nowait(self) -> Any:
        item = super().get_nowait()
        if item is not None:
            self.queued_bytes -= packet_size(item)
        return item


class _BoundedEngineServer(engineio.AsyncServer):
    """Engine.IO server whose sockets get an `OutgoingQueue`."""

    outgoing_limit = DEFAULT_LIMIT
    on_full: Callable[[OutgoingQueue], None] = staticmethod(lambda queue: None)

    def create_queue(self, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            return super().create_queue(*args, **kwargs)
        return OutgoingQueue(self.outgoing_limit, self.on_full)


class BoundedSocketServer(socketio.AsyncServer):
    """A socket.io server that disconnects a client whose outgoing queue passes
    `outgoing_limit` bytes, and calls `on_slow_reader()` for each."""

    def __init__(self, *, outgoing_limit: int = DEFAULT_LIMIT,
                 on_slow_reader: Callable[[], None] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.eio.outgoing_limit = outgoing_limit
        self.eio.on_full = self._cut_off
        self._on_slow_reader = on_slow_reader

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return _BoundedEngineServer

    def _cut_off(self, queue: OutgoingQueue) -> None:
        eio_sid = next((sid for sid, s in self.eio.sockets.items() if s.queue is queue), None)
        log.warning("signaling.slow_reader eio_sid=%s queued_bytes=%d", eio_sid,
                    queue.queued_bytes)
        if self._on_slow_reader is not None:
            self._on_slow_reader()
        request = self.environ.get(eio_sid, {}).get("aiohttp.request") if eio_sid else None
        transport = request.transport if request is not None else None
        if transport is not None:
            transport.abort()
        elif eio_sid is not None:  # no aiohttp connection to abort: at least end the socket
            socket = self.eio.sockets[eio_sid]
            self.start_background_task(socket.close, wait=False, abort=True)
