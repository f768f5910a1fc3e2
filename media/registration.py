"""A `junta media` node announcing itself in Redis, so web processes can place rooms on it.

Keys (the deployment's `JUNTA_REDIS_PREFIX`):

    <prefix>media:nodes         set     ids of nodes that registered (readers prune dead ones)
    <prefix>media:node:<id>     string  {"url", "rooms", "publishers", "subscribers",
                                         "forwarded_streams", "at", "sig"}, expiring after
                                         `ttl` seconds

The id is new at every start: a node that restarts has lost its rooms, so it must not be
mistaken for the node it replaces. The node refreshes its key `ttl / 3` seconds apart; a node
that stops refreshing (killed, hung, cut off) is dead once the key expires. A clean shutdown
deletes both at once, so its rooms move without waiting.

Web processes send the media secret to the URL a node registers, so whoever can write to Redis
must not be able to point them elsewhere: each registration is signed with the media secret
(HMAC-SHA256 over node id, URL and time, `sign_registration`) and readers refuse one that is
unsigned, signed with another key, filed under another id, or stale (`verify_registration`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
import uuid
from dataclasses import asdict
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from media.node import MediaNode, NodeLoad

log = logging.getLogger("junta.media.registration")

DEFAULT_TTL = 3.0
# A live registration is at most one TTL old (JUNTA_MEDIA_NODE_TTL, 60 s at most); the rest is
# for the clocks of the node's host and the reader's, which may disagree a little.
MAX_AGE = 60.0
CLOCK_SKEW = 30.0
_LABEL = b"junta-media-node-registration-v1"


def nodes_key(prefix: str) -> str:
    """The set of registered node ids."""
    return f"{prefix}media:nodes"


def node_key(prefix: str, node_id: str) -> str:
    """One node's liveness and load."""
    return f"{prefix}media:node:{node_id}"


def sign_registration(secret: str, node_id: str, url: str, at: int) -> str:
    """The hex HMAC-SHA256 with the media secret that vouches for `url` as node `node_id`'s at
    unix time `at`."""
    message = b"\n".join((_LABEL, node_id.encode(), url.encode(), str(at).encode()))
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def registration_json(url: str, load: NodeLoad, *, node_id: str, secret: str, now: float) -> str:
    """What a node writes under its key, signed for `now`."""
    at = int(now)
    return json.dumps({"url": url, **asdict(load), "at": at,
                       "sig": sign_registration(secret, node_id, url, at)})


def verify_registration(
    raw: str | bytes, *, node_id: str, secret: str, now: float
) -> dict[str, Any]:
    """The registration filed under `node_id`; ValueError when it is not one, or when it is
    unsigned, not signed with `secret` for this id and URL, or stale."""
    data = json.loads(raw)
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        raise ValueError("not a media node registration")
    at, signature = data.get("at"), data.get("sig")
    if not isinstance(at, int) or isinstance(at, bool) or not isinstance(signature, str):
        raise ValueError("unsigned media node registration")
    expected = sign_registration(secret, node_id, data["url"], at)
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        raise ValueError("media node registration signature does not match")
    if not now - MAX_AGE - CLOCK_SKEW <= at <= now + CLOCK_SKEW:
        raise ValueError("stale media node registration")
    return data


class Registration:
    """Keeps one node's key alive with its current load, until `stop`."""

    def __init__(
        self, node: MediaNode, *, redis_url: str, prefix: str, url: str, secret: str,
        ttl: float = DEFAULT_TTL,
    ) -> None:
        self.node = node
        self.node_id = uuid.uuid4().hex
        self.url = url
        self.ttl = ttl
        self._prefix = prefix
        self._secret = secret
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
            signed = registration_json(self.url, load, node_id=self.node_id,
                                       secret=self._secret, now=time.time())
            pipe.set(node_key(self._prefix, self.node_id), signed, px=int(self.ttl * 1000))
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
