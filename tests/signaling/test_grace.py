"""Grace deadlines: the contract both backends keep, and what only Redis can do (survive the
process that started a grace, and notice a process that died holding sockets)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import pytest
import redis.asyncio as aioredis

from signaling.grace import Graces, MemoryGraces, RedisGraces
from tests.services import REDIS_URL, port_open, require
from tests.signaling.test_roomstate import drop_keys

G = TypeVar("G", bound=Graces)
POLL = 0.05
TTL = 0.3


@dataclass
class Seen:
    """What a process's handlers were called with."""

    expired: list[tuple[str, str, str]] = field(default_factory=list)
    orphaned: list[tuple[str, str, str]] = field(default_factory=list)
    reclaimed: list[tuple[str, str, str]] = field(default_factory=list)

    def bind(self, graces: G) -> G:
        async def expired(room: str, peer: str, sid: str) -> None:
            self.expired.append((room, peer, sid))

        async def orphaned(room: str, peer: str, sid: str) -> None:
            self.orphaned.append((room, peer, sid))

        async def reclaimed(room: str, peer: str, sid: str) -> None:
            self.reclaimed.append((room, peer, sid))

        graces.bind(on_expired=expired, on_orphaned=orphaned, on_reclaimed=reclaimed)
        graces.start()
        return graces


async def until(check: Callable[[], bool], within: float = 3.0) -> None:
    for _ in range(int(within / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within {within} s")


@dataclass
class Shared:
    """Processes sharing one Redis key prefix; `make()` is one more process."""

    client: aioredis.Redis
    prefix: str
    made: list[RedisGraces] = field(default_factory=list)

    def make(self) -> RedisGraces:
        graces = RedisGraces(self.client, prefix=self.prefix, poll=POLL, liveness_ttl=TTL)
        self.made.append(graces)
        return graces


@asynccontextmanager
async def redis_processes() -> AsyncIterator[Shared]:
    require(port_open("127.0.0.1", 6379), "Redis at 127.0.0.1:6379")
    client = aioredis.Redis.from_url(REDIS_URL)
    found = Shared(client, f"junta-test:{uuid.uuid4().hex}:")
    try:
        yield found
    finally:
        for graces in found.made:
            await graces.close()
        await drop_keys(client, found.prefix)
        await client.aclose()


@pytest.fixture
async def shared() -> AsyncIterator[Shared]:
    async with redis_processes() as found:
        yield found


@pytest.fixture(params=["memory", "redis"])
async def graces(request: pytest.FixtureRequest) -> AsyncIterator[Callable[[], Graces]]:
    if request.param == "redis":
        async with redis_processes() as found:
            yield found.make
        return
    made: list[Graces] = []

    def memory() -> Graces:
        made.append(MemoryGraces())
        return made[-1]

    yield memory
    for g in made:
        await g.close()


async def test_a_grace_runs_out_once_unless_cancelled(graces: Callable[[], Graces]) -> None:
    seen = Seen()
    g = seen.bind(graces())
    await g.begin("r", "p1", "s1", 0.2)
    await g.begin("r", "p2", "s2", 0.2)
    await g.begin("r", "p3", "s3", 5.0)
    await g.cancel("r", "p2")
    await until(lambda: len(seen.expired) >= 1)
    await asyncio.sleep(0.3)
    assert seen.expired == [("r", "p1", "s1")]


async def test_a_restarted_grace_keeps_only_the_latest_socket(
    graces: Callable[[], Graces],
) -> None:
    seen = Seen()
    g = seen.bind(graces())
    await g.begin("sala ñ", "p", "old", 0.2)
    await g.begin("sala ñ", "p", "new", 0.3)
    await until(lambda: len(seen.expired) >= 1)
    await asyncio.sleep(0.2)
    assert seen.expired == [("sala ñ", "p", "new")]


async def test_a_grace_outlives_the_process_that_started_it(shared: Shared) -> None:
    starter, other = Seen(), Seen()
    first = starter.bind(shared.make())
    other.bind(shared.make())
    await first.begin("r", "p", "s", 0.3)
    await first.close()  # the process goes away before the deadline
    await until(lambda: bool(other.expired))
    assert other.expired == [("r", "p", "s")] and starter.expired == []


async def test_each_due_grace_is_claimed_by_exactly_one_process(shared: Shared) -> None:
    seens = [Seen() for _ in range(3)]
    processes = [seen.bind(shared.make()) for seen in seens]
    for n in range(30):
        await processes[n % 3].begin("r", f"p{n}", "s", 0.2)
    await until(lambda: sum(len(s.expired) for s in seens) >= 30)
    await asyncio.sleep(0.2)
    claimed = [entry for s in seens for entry in s.expired]
    assert sorted(claimed) == sorted(("r", f"p{n}", "s") for n in range(30))


async def test_the_sockets_of_a_dead_process_are_orphaned_once(shared: Shared) -> None:
    dead_seen, seens = Seen(), [Seen(), Seen()]
    dead = dead_seen.bind(shared.make())
    for seen in seens:
        seen.bind(shared.make())
    await dead.held("r", "p1", "s1")
    await dead.held("r", "p2", "s2")
    await dead.held("r", "p3", "s3")
    await dead.released("r", "p3", "s3")  # it left before the crash
    await dead.released("r", "p2", "other")  # not its socket any more: kept
    await asyncio.sleep(POLL * 3)  # a few heartbeats: it is registered and alive
    await dead.stop()  # a crash: nothing is cleaned up, the liveness key runs out
    await until(lambda: sum(len(s.orphaned) for s in seens) >= 2, within=TTL + 2)
    await asyncio.sleep(POLL * 4)
    orphaned = sorted(entry for s in seens for entry in s.orphaned)
    assert orphaned == [("r", "p1", "s1"), ("r", "p2", "s2")]
    assert dead_seen.orphaned == []


async def test_a_process_taken_for_dead_reclaims_its_sockets(shared: Shared) -> None:
    mine, other = Seen(), Seen()
    me = mine.bind(shared.make())
    other.bind(shared.make())
    await me.held("r", "p1", "s1")
    await asyncio.sleep(POLL * 3)
    # Redis lost the keys (restarted without persistence, or this process stalled for longer
    # than the liveness TTL): on its next heartbeat the process registers its sockets again.
    await shared.client.delete(
        f"{shared.prefix}proc:{me.process_id}:alive", f"{shared.prefix}proc:{me.process_id}:held"
    )
    await until(lambda: bool(mine.reclaimed))
    assert mine.reclaimed == [("r", "p1", "s1")]
    assert await shared.client.hget(f"{shared.prefix}proc:{me.process_id}:held",
                                    '["r","p1"]') == b"s1"
    await asyncio.sleep(TTL + POLL * 4)
    assert other.orphaned == []


async def test_a_clean_shutdown_is_not_taken_for_a_crash(shared: Shared) -> None:
    leaving, other = Seen(), Seen()
    first = leaving.bind(shared.make())
    other.bind(shared.make())
    await first.held("r", "p", "s")
    await first.released("r", "p", "s")
    await asyncio.sleep(POLL * 3)
    await first.close()
    await asyncio.sleep(TTL + POLL * 4)
    assert other.orphaned == []


def test_liveness_must_outlast_the_poll() -> None:
    with pytest.raises(ValueError, match="liveness_ttl"):
        RedisGraces(REDIS_URL, poll=1.0, liveness_ttl=1.0)
