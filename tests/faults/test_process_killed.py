"""A `junta serve` process killed (SIGKILL) during calls: its pages reconnect to the other process
and carry on, and no one who never came back stays listed as a ghost."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from signaling.roomstate_redis import RedisRoomState
from tests.faults.servers import (
    Caller,
    FailoverProxy,
    JuntaServe,
    RedisServer,
    eventually,
    relays,
)

# Both processes run with the default JUNTA_RECONNECT_GRACE (20 s): a dead process is noticed
# within its liveness TTL (10 s) and its sockets' grace is shortened by that much.


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[RedisServer, JuntaServe, JuntaServe]]:
    redis = RedisServer(tmp_path).start()
    env = {"JUNTA_REDIS_URL": redis.url, "JUNTA_REDIS_PREFIX": "faults:"}
    first = JuntaServe(tmp_path, "serve-a", **env)
    second = JuntaServe(tmp_path, "serve-b", **env)
    try:
        first.start()  # one at a time: each upgrades the shared schema on startup
        second.start()
        yield redis, first, second
    finally:
        first.stop()
        second.stop()
        redis.stop()


async def test_a_killed_process_leaves_no_ghost_and_its_pages_move_over(
    cluster: tuple[RedisServer, JuntaServe, JuntaServe],
) -> None:
    redis, first, second = cluster
    proxy = await FailoverProxy([first.port, second.port]).start()
    room, other_room = f"room-{uuid.uuid4().hex[:8]}", f"room-{uuid.uuid4().hex[:8]}"
    # alice reaches process A through the balancer, bob is on B: one call across processes.
    alice = await Caller(proxy.url, "alice", room).connect()
    bob = await Caller(second.url, "bob", room).connect()
    # carol is on A and will never come back; dave, on B, shares her call.
    carol = await Caller(first.url, "carol", other_room).connect()
    dave = await Caller(second.url, "dave", other_room).connect()
    callers = [alice, bob, carol, dave]
    carol.client.reconnection = False
    client = aioredis.Redis.from_url(redis.url)
    state = RedisRoomState(client, prefix="faults:")
    try:
        await relays(alice, bob, within=5)
        await relays(bob, alice, within=5)

        first.kill()
        killed_at = time.monotonic()

        # alice's page reconnects through the balancer to B and the call goes on within 5 s.
        await relays(alice, bob, within=5)
        await relays(bob, alice, within=2)
        assert len(alice.joins) == 2 and alice.joins[-1]["status"] == "joined"
        assert time.monotonic() - killed_at < 5 + 1

        # carol's socket died with A: B notices, then her grace runs out.
        left = await eventually(
            lambda: dave.seen("peer-left", peer_id=carol.peer_id), 30, "carol removed"
        )
        assert left == [{"peer_id": carol.peer_id, "reason": "timeout"}]
        assert time.monotonic() - killed_at < 30
        # No list anywhere still holds a ghost: the shared state, and a newcomer's view.
        assert [r.peer.peer_id for r in await state.list_peers(other_room)] == [dave.peer_id]
        listed = {r.peer.peer_id: r.peer.connected for r in await state.list_peers(room)}
        assert listed == {alice.peer_id: True, bob.peer_id: True}
        erin = await Caller(second.url, "erin", room).connect()
        callers.append(erin)
        assert {p["peer_id"] for p in erin.joins[-1]["peers"]} == {alice.peer_id, bob.peer_id}
        # alice was never reported gone: she came back within her grace.
        assert bob.seen("peer-left", peer_id=alice.peer_id) == []
    finally:
        for caller in callers:
            await caller.close()
        await proxy.close()
        await client.aclose()
