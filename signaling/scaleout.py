"""Several signaling processes over one Redis: the three pieces they share, built together.

- `CallManager` (socket.io's `AsyncRedisManager`) carries emits to the process that holds each
  socket, and commands to every process (`disconnect_user`);
- `RedisRoomState` holds the rooms;
- `RedisGraces` holds reconnect-grace deadlines and notices a process that died.

State and graces share one key prefix but not a connection pool: a process busy with a thousand
sockets' reads must not delay its own heartbeat until the others take it for dead. The manager
keeps its own client, because a pub/sub subscription occupies its connection.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import redis
import redis.asyncio as aioredis
import socketio
from engineio import packet as eio_packet
from socketio import packet

from .grace import LIVENESS_TTL, POLL_SECONDS, RedisGraces
from .roomstate_redis import RedisRoomState

log = logging.getLogger("junta.signaling")

CHANNEL = "socketio"  # after the prefix: one channel per deployment
# A dead Redis must not hang requests or the grace loop for long; redis-py retries a dropped
# connection by itself (three times, with backoff) before a command fails. Giving the version
# spares each new connection redis-py's own look-up of it (it reads package metadata, which
# costs CPU on every connect).
_CLIENT_OPTIONS: dict[str, Any] = {
    "socket_connect_timeout": 2.0, "socket_timeout": 5.0,
    "driver_info": redis.DriverInfo(lib_version=redis.__version__),
}
# redis-py's default pool *fails* a command ("Too many connections") past 100 connections in
# use. A socket has at most one event in hand (`async_handlers=False`) and a `signal` makes one
# state read, so a pool this size rarely makes a command wait, and a wait longer than
# STATE_WAIT fails as `StateUnavailable` (the client gets `unavailable`). socket.io's manager
# builds its own client from options only, so its (publish-only) pool gets room for every
# socket of a busy process.
STATE_CONNECTIONS = 256
STATE_WAIT = 5.0
GRACE_CONNECTIONS = 16  # heartbeats, reaping, and a grace started or ended per (dis)connection
MANAGER_CONNECTIONS = 4096
# No socket ever joins this room: an emit to it is a command for the processes themselves.
COMMAND_ROOM = "junta:processes"

CommandHandler = Callable[[dict[str, Any]], Awaitable[None]]


class _QueuedDelivery(socketio.AsyncManager):
    """Delivery to this process's sockets without waiting for the loop to come round.

    socket.io's `AsyncManager.emit` sends each packet in a task of its own and waits for them;
    the Redis listener handles the messages of every process one after the other, so each then
    costs a full turn of an event loop that is busy with hundreds of sockets, and under load the
    listener fell seconds behind while the process sat idle (the two-process bench's collapse).
    Queueing a packet on a socket does not wait (its queue is unbounded), so it is done inline,
    in order. Emits with an ack callback keep socket.io's own path.
    """

    async def emit(
        self, event: str, data: Any, namespace: str, room: Any = None, skip_sid: Any = None,
        callback: Any = None, to: Any = None, **kwargs: Any,
    ) -> None:
        if callback or namespace not in self.rooms:
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid,
                               callback=callback, to=to, **kwargs)
            return
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        encoded = self.server.packet_class(
            packet.EVENT, namespace=namespace, data=[event, *args]
        ).encode()
        frames = [eio_packet.Packet(eio_packet.MESSAGE, p)
                  for p in (encoded if isinstance(encoded, list) else [encoded])]
        for sid, eio_sid in self.get_participants(namespace, to or room):
            if sid not in skip:
                for frame in frames:
                    await self.server._send_eio_packet(eio_sid, frame)


class CallManager(socketio.AsyncRedisManager, _QueuedDelivery):
    """socket.io's Redis manager, delivering without a loop turn per message
    (`_QueuedDelivery`, which Python's method order puts between the pub/sub manager and
    `AsyncManager`), and carrying commands to every signaling process.

    A command rides on the manager's own channel (and its reconnecting listener) as an emit to
    `COMMAND_ROOM`; each process, this one first, hands it to the handler registered for it
    instead of delivering it to sockets.
    """

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self._commands: dict[str, CommandHandler] = {}

    def on_command(self, name: str, handler: CommandHandler) -> None:
        """Run `handler(data)` in this process whenever any process sends command `name`."""
        self._commands[name] = handler

    async def emit(
        self, event: str, data: Any, namespace: str | None = None, room: Any = None,
        skip_sid: Any = None, callback: Any = None, to: Any = None, **kwargs: Any,
    ) -> None:
        target, namespace = to or room, namespace or "/"
        if (callback is None and not kwargs.get("ignore_queue") and isinstance(target, str)
                and self.is_connected(target, namespace)):
            # One of this process's sockets: no other process could deliver it, so no publish.
            await _QueuedDelivery.emit(self, event, data, namespace, room=target,
                                       skip_sid=skip_sid)
            return
        await super().emit(event, data, namespace=namespace, room=room, skip_sid=skip_sid,
                           callback=callback, to=to, **kwargs)

    async def command(self, name: str, data: dict[str, Any]) -> None:
        """Run command `name` in every process: here before returning, elsewhere on receipt."""
        await self.emit(name, data, namespace="/", room=COMMAND_ROOM)

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        if message.get("room") != COMMAND_ROOM:
            await super()._handle_emit(message)
            return
        handler = self._commands.get(str(message.get("event")))
        data = message.get("data")
        if handler is not None and isinstance(data, list) and data and isinstance(data[0], dict):
            await handler(data[0])


class RedisScaleOut:
    """The Redis backends of one signaling process (pass them to `build_socket_server`)."""

    def __init__(
        self, url: str, *, prefix: str = "junta:", channel: str | None = None,
        poll: float = POLL_SECONDS, liveness_ttl: float = LIVENESS_TTL,
    ) -> None:
        self._pool = pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=STATE_CONNECTIONS, timeout=STATE_WAIT, **_CLIENT_OPTIONS
        )
        self.client = aioredis.Redis(connection_pool=pool)
        self._grace_pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=GRACE_CONNECTIONS, timeout=STATE_WAIT, **_CLIENT_OPTIONS
        )
        self._grace_client = aioredis.Redis(connection_pool=self._grace_pool)
        self.manager = CallManager(
            url, channel=channel or prefix + CHANNEL,
            redis_options={**_CLIENT_OPTIONS, "max_connections": MANAGER_CONNECTIONS},
        )
        self.rooms = RedisRoomState(self.client, prefix=prefix)
        self.graces = RedisGraces(self._grace_client, prefix=prefix, poll=poll,
                                  liveness_ttl=liveness_ttl)

    def start(self, sio: socketio.AsyncServer) -> None:
        """Subscribe now rather than on the first connection (socket.io's default): a process
        that has had no socket yet must already receive emits meant for sockets it gets."""
        if not sio.manager_initialized:
            sio.manager_initialized = True
            self.manager.initialize()
        self.graces.start()

    async def ping(self) -> None:
        """Raise if Redis cannot be reached (readiness)."""
        await self.client.ping()

    async def close(self) -> None:
        """Stop the grace loop, the manager's listener and the clients."""
        await self.graces.close()
        listener = getattr(self.manager, "thread", None)
        if listener is not None:
            listener.cancel()
        if self.manager.redis is not None:
            await self.manager.redis.aclose()
        for client, pool in ((self.client, self._pool), (self._grace_client, self._grace_pool)):
            await client.aclose()
            await pool.disconnect()  # a pool passed in is not closed with its client
