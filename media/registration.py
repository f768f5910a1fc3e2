"""A `junta media` node announcing itself in Redis, so web processes can place rooms on it.

Keys (the deployment's `JUNTA_REDIS_PREFIX`):

    <prefix>media:nodes         set     ids of nodes that registered (readers prune dead ones)
    <prefix>media:node:<id>     string  {"url", "rooms", "publishers", "subscribers",
                                         "forwarded_streams"}, expiring after `ttl` seconds

The id is new at every start: a node that restarts has lost its rooms, so it must not be
mistaken for the node it replaces. The node refreshes its key `ttl / 3` seconds apart; a node
that stops refreshing (killed, hung, cut off) is dead once the key expires. A clean shutdown
deletes both at once, so its rooms move without waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from dataclasses import asdict
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from media.node import MediaNode, NodeLoad

log = logging.getLogger("junta.media.registration")

DEFAULT_TTL = 3.0


def nodes_key(prefix: str) -> str:
    """The set of registered node ids."""
    return f"{prefix}media:nodes"


def node_key(prefix: str, node_id: str) -> str:
    """One node's liveness and load."""
    return f"{prefix}media:node:{node_id}"


def registration_json(url: str, load: NodeLoad) -> str:
    """What a node writes under its key."""
    return json.dumps({"url": url, **asdict(load)})


def registration_from_json(raw: str | bytes) -> dict[str, Any]:
    """A node's registration; ValueError when it is not one."""
    data = json.loads(raw)
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        raise ValueError("not a media node registration")
    return data


class Registration:
    """Keeps one node's key alive with its current load, until `stop`."""

    def __init__(
        self, node: MediaNode, *, redis_url: str, prefix: str, url: str,
        ttl: float = DEFAULT_TTL,
    ) -> None:
        self.node = node
        self.node_id = uuid.uuid4().hex
        self.url = url
        self.ttl = ttl
        self._prefix = prefix
        self._redis = aioredis.Redis.from_url(redis_url, socket_timeout=ttl,
                                              socket_connect_timeout=ttl)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Register now and keep refreshing in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="junta-media-registration")

    async def beat(self) -> None:
        """Write the node's key once (its load as of now)."""
        load = await self.node.load()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(node_key(self._prefix, self.node_id), registration_json(self.url, load),
                     px=int(self.ttl * 1000))
            pipe.sadd(nodes_key(self._prefix), self.node_id)
            await pipe.execute()

    async def _run(self) -> None:
        registered = False
        while True:
            try:
                await self.beat()
                if not registered:
                    log.info("media.registered node=%s url=%s ttl=%.1fs", self.node_id,
                             self.url, self.ttl)
                    registered = True
            except (RedisError, OSError) as exc:
                # Unregistered while Redis is away: web processes move its rooms, as they must
                # when they cannot see it either.
                log.warning("media.registration_failed node=%s error=%s", self.node_id,
                            type(exc).__name__)
                registered = False
            await asyncio.sleep(self.ttl / 3)

    async def stop(self) -> None:
        """Stop refreshing and remove the registration (clean shutdown)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self._redis.delete(node_key(self._prefix, self.node_id))
            await self._redis.srem(nodes_key(self._prefix), self.node_id)
            log.info("media.unregistered node=%s", self.node_id)
        except (RedisError, OSError) as exc:
            log.warning("media.unregister_failed node=%s error=%s", self.node_id,
                        type(exc).__name__)
        await self._redis.aclose()
