"""Several signaling processes over one Redis: the three pieces they share, built together.

- socket.io's `AsyncRedisManager` carries emits to the process that holds each socket;
- `RedisRoomState` holds the rooms;
- `RedisGraces` holds reconnect-grace deadlines and notices a process that died.

State and graces share one client (and one key prefix); the manager keeps its own, because a
pub/sub subscription occupies its connection.
"""

from __future__ import annotations

import logging

import redis.asyncio as aioredis
import socketio

from .grace import LIVENESS_TTL, POLL_SECONDS, RedisGraces
from .roomstate_redis import RedisRoomState

log = logging.getLogger("junta.signaling")

CHANNEL = "socketio"  # after the prefix: one channel per deployment
# A dead Redis must not hang requests or the grace loop for long; redis-py retries a dropped
# connection by itself (three times, with backoff) before a command fails.
_CLIENT_OPTIONS = {"socket_connect_timeout": 2.0, "socket_timeout": 5.0}
# redis-py's default pool *fails* a command ("Too many connections") past 100 connections in
# use, which a thousand sockets sending at once reach: the state's pool makes commands wait for
# a free connection instead. socket.io's manager builds its own client from options only, so
# its (publish-only) pool just gets room for every socket of a busy process.
STATE_CONNECTIONS = 64
MANAGER_CONNECTIONS = 4096


class RedisScaleOut:
    """The Redis backends of one signaling process (pass them to `build_socket_server`)."""

    def __init__(
        self, url: str, *, prefix: str = "junta:", channel: str | None = None,
        poll: float = POLL_SECONDS, liveness_ttl: float = LIVENESS_TTL,
    ) -> None:
        self._pool = pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=STATE_CONNECTIONS, timeout=5.0, **_CLIENT_OPTIONS
        )
        self.client = aioredis.Redis(connection_pool=pool)
        self.manager = socketio.AsyncRedisManager(
            url, channel=channel or prefix + CHANNEL,
            redis_options={**_CLIENT_OPTIONS, "max_connections": MANAGER_CONNECTIONS},
        )
        self.rooms = RedisRoomState(self.client, prefix=prefix)
        self.graces = RedisGraces(self.client, prefix=prefix, poll=poll,
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
        await self.client.aclose()
        await self._pool.disconnect()  # a pool passed in is not closed with its client
