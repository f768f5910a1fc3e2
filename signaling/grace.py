"""Reconnect-grace deadlines, and noticing the sockets of a signaling process that died.

A peer whose socket drops keeps its place for the reconnect grace; when the grace runs out the
namespace removes it (compare-and-delete on the socket id, so a rejoin anywhere wins). Who keeps
the deadline matters once there are several processes: if it lived only in the process that
held the socket, a process killed during someone's grace would leave that peer a ghost forever,
and so would every peer still *connected* to it (nobody ever sees their sockets drop).

`MemoryGraces` (one process): an asyncio timer per peer; a dying process takes its rooms along.

`RedisGraces` (many processes sharing `RedisRoomState`):

    <prefix>grace:due        zset  [room, peer_id] JSON -> deadline (unix seconds)
    <prefix>grace:sid        hash  [room, peer_id] JSON -> the socket id the grace is for
    <prefix>procs            set   ids of live (or not yet reaped) processes
    <prefix>proc:<id>:alive  string with a TTL (`liveness_ttl`), refreshed every `poll` seconds
    <prefix>proc:<id>:held   hash  [room, peer_id] JSON -> socket id, this process's sockets

Every process, every `poll` seconds: refreshes its liveness key; claims the due graces (one Lua
script removes and returns them, so exactly one process expires each); and reaps every process
whose liveness key has expired (one Lua script per process, so exactly one reaper): that
process's sockets are treated as dropped, which starts their grace here. A process that finds
its own liveness key gone (Redis restarted empty, or it stalled and was reaped) re-registers
its sockets and reclaims its peers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from .redis_client import reaching_redis, redis_client, text

log = logging.getLogger("junta.signaling.grace")

# (room, peer_id, sid) of a socket whose grace ran out, whose process died, or that came back.
PeerSocketHandler = Callable[[str, str, str], Awaitable[None]]

POLL_SECONDS = 1.0
# Long enough that a process stalled by a burst of load is not taken for dead (its peers would
# flicker to disconnected and back), short enough to find a dead one well within a grace.
LIVENESS_TTL = 10.0
CLAIM_BATCH = 200


class Graces(ABC):
    """Where grace deadlines live; `bind` the namespace's handlers before `start`."""

    def __init__(self) -> None:
        self._on_expired: PeerSocketHandler | None = None
        self._on_orphaned: PeerSocketHandler | None = None
        self._on_reclaimed: PeerSocketHandler | None = None

    def bind(
        self, *, on_expired: PeerSocketHandler, on_orphaned: PeerSocketHandler,
        on_reclaimed: PeerSocketHandler,
    ) -> None:
        """What to do when a grace runs out, a process died holding a socket, or this
        process's sockets were wrongly reaped and are reclaimed."""
        self._on_expired = on_expired
        self._on_orphaned = on_orphaned
        self._on_reclaimed = on_reclaimed

    async def _call(self, handler: PeerSocketHandler | None, room: str, peer_id: str,
                    sid: str) -> None:
        if handler is None:
            return
        try:
            await handler(room, peer_id, sid)
        except Exception as exc:
            log.error("grace.handler_failed room=%s peer=%s error=%s", room, peer_id,
                      type(exc).__name__)

    @property
    def detection_delay(self) -> float:
        """How long a dead process's sockets have been gone, at least, when they are reported
        orphaned: their grace is shortened by that much."""
        return 0.0

    def start(self) -> None:  # noqa: B027 - the memory backend has nothing to run
        """Start background work, if any (idempotent; needs a running loop)."""

    @abstractmethod
    async def held(self, room: str, peer_id: str, sid: str) -> None:
        """This process now holds `sid`, the socket of the peer."""

    @abstractmethod
    async def released(self, room: str, peer_id: str, sid: str) -> None:
        """This process no longer holds `sid` (it disconnected or left)."""

    @abstractmethod
    async def begin(self, room: str, peer_id: str, sid: str, seconds: float) -> None:
        """Start (or restart) the peer's grace: expire it in `seconds` unless cancelled."""

    @abstractmethod
    async def cancel(self, room: str, peer_id: str) -> None:
        """The peer came back or was removed: no grace runs for it."""

    @abstractmethod
    async def close(self) -> None:
        """Stop background work and local timers (shutdown); shared deadlines stay."""


class MemoryGraces(Graces):
    """One timer task per peer, in this process."""

    def __init__(self) -> None:
        super().__init__()
        self._timers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._closed = False

    async def held(self, room: str, peer_id: str, sid: str) -> None:
        return None

    async def released(self, room: str, peer_id: str, sid: str) -> None:
        return None

    async def begin(self, room: str, peer_id: str, sid: str, seconds: float) -> None:
        await self.cancel(room, peer_id)
        if self._closed:  # sockets closing at shutdown leave no timers behind
            return
        key = (room, peer_id)
        task = asyncio.create_task(self._run(room, peer_id, sid, seconds))
        self._timers[key] = task
        task.add_done_callback(
            lambda done: self._timers.pop(key) if self._timers.get(key) is done else None
        )

    async def _run(self, room: str, peer_id: str, sid: str, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self._call(self._on_expired, room, peer_id, sid)

    async def cancel(self, room: str, peer_id: str) -> None:
        task = self._timers.pop((room, peer_id), None)
        if task is not None:
            task.cancel()

    async def close(self) -> None:
        self._closed = True
        tasks = list(self._timers.values())
        self._timers.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# KEYS: due, sid. ARGV: now, batch. Removes and returns [member, sid, member, sid, ...].
_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  local sid = redis.call('HGET', KEYS[2], member)
  redis.call('HDEL', KEYS[2], member)
  if sid then
    table.insert(out, member)
    table.insert(out, sid)
  end
end
return out
"""

# KEYS: held. ARGV: member, sid. Forget the socket only if it is still the one held.
_RELEASE = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return 1
"""

# KEYS: procs, alive, held of the dead process. ARGV: its id. Returns its held hash, once.
_REAP = """
if redis.call('EXISTS', KEYS[2]) == 1 then return false end
local held = redis.call('HGETALL', KEYS[3])
redis.call('DEL', KEYS[3])
redis.call('SREM', KEYS[1], ARGV[1])
return held
"""


def _member(room: str, peer_id: str) -> str:
    return json.dumps([room, peer_id], ensure_ascii=False, separators=(",", ":"))


def _unmember(raw: bytes | str) -> tuple[str, str]:
    room, peer_id = json.loads(raw)
    return str(room), str(peer_id)


class RedisGraces(Graces):
    """Grace deadlines and process liveness in Redis (see the module docstring).

    Pass a URL (this object owns the client) or a `redis.asyncio.Redis` (yours). `prefix` must
    be the one the processes' `RedisRoomState` share.
    """

    def __init__(
        self, redis_url_or_client: str | aioredis.Redis, *, prefix: str = "junta:",
        process_id: str | None = None, poll: float = POLL_SECONDS,
        liveness_ttl: float = LIVENESS_TTL, clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        if poll <= 0 or liveness_ttl <= poll:
            raise ValueError("poll must be positive and shorter than liveness_ttl")
        self._redis, self._owns_client = redis_client(redis_url_or_client)
        self.prefix = prefix
        self.process_id = process_id or uuid.uuid4().hex
        self.poll = poll
        self.liveness_ttl = liveness_ttl
        self._clock = clock
        self._held: dict[str, str] = {}  # member -> sid: what to re-register after a loss
        self._registered = False
        self._failing = False
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._claim = self._redis.register_script(_CLAIM)
        self._release = self._redis.register_script(_RELEASE)
        self._reap = self._redis.register_script(_REAP)

    @property
    def detection_delay(self) -> float:
        # The last heartbeat was at least a TTL before the key expired, less one poll.
        return self.liveness_ttl - self.poll

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def _alive(self, process_id: str) -> str:
        return self._key("proc", process_id, "alive")

    def _held_key(self, process_id: str) -> str:
        return self._key("proc", process_id, "held")

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="junta-graces")

    @reaching_redis
    async def held(self, room: str, peer_id: str, sid: str) -> None:
        member = _member(room, peer_id)
        self._held[member] = sid
        await self._redis.hset(self._held_key(self.process_id), member, sid)

    @reaching_redis
    async def released(self, room: str, peer_id: str, sid: str) -> None:
        member = _member(room, peer_id)
        if self._held.get(member) == sid:
            del self._held[member]
        await self._release(keys=[self._held_key(self.process_id)], args=[member, sid])

    @reaching_redis
    async def begin(self, room: str, peer_id: str, sid: str, seconds: float) -> None:
        member = _member(room, peer_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self._key("grace", "due"), {member: self._clock() + seconds})
            pipe.hset(self._key("grace", "sid"), member, sid)
            await pipe.execute()

    @reaching_redis
    async def cancel(self, room: str, peer_id: str) -> None:
        member = _member(room, peer_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self._key("grace", "due"), member)
            pipe.hdel(self._key("grace", "sid"), member)
            await pipe.execute()

    async def stop(self) -> None:
        """Stop the loop between two rounds (a command cut off mid-way could upset the client's
        connection), cancelling it only if a round hangs."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=self.poll + 5.0)

    async def close(self) -> None:
        """Stop the loop and deregister: a clean shutdown's sockets have all disconnected."""
        await self.stop()
        with contextlib.suppress(Exception):
            await self._redis.delete(self._alive(self.process_id))
        if self._owns_client:
            await self._redis.aclose()

    # --- the loop ---------------------------------------------------------------------------

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.tick()
                if self._failing:
                    log.info("grace.redis_back process=%s", self.process_id)
                    self._failing = False
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not self._failing:  # one line per outage, not one per second
                    log.warning("grace.redis_unavailable process=%s error=%s",
                                self.process_id, type(exc).__name__)
                    self._failing = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.poll)

    async def tick(self) -> None:
        """One round: heartbeat, expire due graces, reap dead processes."""
        await self._heartbeat()
        for room, peer_id, sid in await self.claim_due():
            await self._call(self._on_expired, room, peer_id, sid)
        for room, peer_id, sid in await self.reap_dead():
            await self._call(self._on_orphaned, room, peer_id, sid)

    async def _heartbeat(self) -> None:
        alive = self._alive(self.process_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(alive, "1", px=int(self.liveness_ttl * 1000), get=True)
            pipe.sadd(self._key("procs"), self.process_id)
            previous, _ = await pipe.execute()
        if previous is not None:
            return
        lost = self._registered  # gone since we last set it: Redis lost it, or we were reaped
        self._registered = True
        if not self._held:
            return
        held = dict(self._held)
        await self._redis.hset(self._held_key(self.process_id), mapping=held)  # type: ignore[arg-type]
        if lost:
            log.warning("grace.reregistered process=%s sockets=%d", self.process_id, len(held))
            for member, sid in held.items():
                room, peer_id = _unmember(member)
                await self.cancel(room, peer_id)
                await self._call(self._on_reclaimed, room, peer_id, sid)

    async def claim_due(self) -> list[tuple[str, str, str]]:
        """Remove and return the graces due now; each is returned to one process only."""
        flat = await self._claim(
            keys=[self._key("grace", "due"), self._key("grace", "sid")],
            args=[repr(self._clock()), CLAIM_BATCH],
        )
        return [(*_unmember(flat[i]), text(flat[i + 1])) for i in range(0, len(flat), 2)]

    async def reap_dead(self) -> list[tuple[str, str, str]]:
        """The sockets of processes whose liveness expired; each process is reaped once."""
        ids = [text(raw) for raw in await self._redis.smembers(self._key("procs"))]
        others = [pid for pid in ids if pid != self.process_id]
        if not others:
            return []
        alive = await self._redis.exists(*(self._alive(pid) for pid in others))
        if alive == len(others):
            return []
        orphans: list[tuple[str, str, str]] = []
        for pid in others:
            flat = await self._reap(
                keys=[self._key("procs"), self._alive(pid), self._held_key(pid)], args=[pid]
            )
            if flat is None:
                continue
            log.warning("grace.process_dead process=%s sockets=%d", pid, len(flat) // 2)
            orphans += [(*_unmember(flat[i]), text(flat[i + 1]))
                        for i in range(0, len(flat), 2)]
        return orphans
