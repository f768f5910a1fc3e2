"""What signaling's Redis backends (`RedisRoomState`, `RedisGraces`) share: their client, made
from a URL or handed in, replies read as text, and Redis outages raised as `StateUnavailable`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from .roomstate import StateUnavailable

_P = ParamSpec("_P")
_R = TypeVar("_R")


def redis_client(redis_url_or_client: str | aioredis.Redis) -> tuple[aioredis.Redis, bool]:
    """The client, and whether it was made here from a URL (then its backend owns and closes
    it; a client handed in stays its caller's)."""
    if isinstance(redis_url_or_client, str):
        return aioredis.Redis.from_url(redis_url_or_client), True
    return redis_url_or_client, False


def text(value: bytes | str) -> str:
    """A reply as text, whether or not the client decodes responses."""
    return value.decode() if isinstance(value, bytes) else value


def reaching_redis(
    method: Callable[_P, Coroutine[Any, Any, _R]],
) -> Callable[_P, Coroutine[Any, Any, _R]]:
    """Turn a Redis outage (refused, timed out, no free pooled connection) into
    `StateUnavailable`, so callers tell it from a bug without knowing about Redis."""

    @functools.wraps(method)
    async def reached(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return await method(*args, **kwargs)
        except (RedisError, OSError) as exc:
            raise StateUnavailable(type(exc).__name__) from exc

    return reached
