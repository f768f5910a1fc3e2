"""Two real signaling processes over Redis: what one process does to sockets another holds, and
what a client is told when the room state cannot be reached."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
import redis.asyncio as aioredis

from signaling.protocol import PROTOCOL_VERSION
from signaling.roomstate_redis import RedisRoomState
from signaling.scaleout import CHANNEL
from signaling.server import build_socket_server
from tests.services import REDIS_URL, free_port, port_open, require

from .conftest import CANDIDATE, SECRET, Participant, assert_relays
from .redis_process import RedisProcess
from .socket_site import serve_sockets


@pytest.fixture
def prefix() -> str:
    return f"junta-test:{uuid.uuid4().hex}:"


@pytest.fixture
async def redis(prefix: str) -> AsyncIterator[aioredis.Redis]:
    require(port_open("127.0.0.1", 6379), "Redis at 127.0.0.1:6379")
    client = aioredis.Redis.from_url(REDIS_URL)
    yield client
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
def processes(prefix: str, redis: aioredis.Redis) -> Iterator[list[RedisProcess]]:
    """Two processes, stopped before `redis` drops the test's keys (they write until then)."""
    started: list[RedisProcess] = []
    try:
        for _ in range(2):
            started.append(RedisProcess(REDIS_URL, prefix))
        yield started
    finally:
        for process in started:
            process.stop()


async def all_listen(redis: aioredis.Redis, prefix: str, count: int) -> None:
    async with asyncio.timeout(10):
        while True:
            ((_, listening),) = await redis.pubsub_numsub(prefix + CHANNEL)
            if listening >= count:
                return
            await asyncio.sleep(0.05)


async def joined(url: str, user_id: str, room: str, **flags: bool) -> Participant:
    p = Participant(url, user_id, room, **flags)
    await p.connect()
    ack = await p.join()
    assert ack["ok"], ack
    return p


async def closed(p: Participant, within: float = 3.0) -> bool:
    for _ in range(int(within / 0.05)):
        if not p.client.connected:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_disconnecting_a_user_closes_their_sockets_on_every_process(
    processes: list[RedisProcess], redis: aioredis.Redis, prefix: str
) -> None:
    first, second = processes
    await all_listen(redis, prefix, 2)
    room, other_room = f"room-{uuid.uuid4().hex[:8]}", f"room-{uuid.uuid4().hex[:8]}"
    people: list[Participant] = []
    try:
        async with asyncio.timeout(20):
            # The person has a call page behind each process; bob shares one of the calls.
            here = await joined(first.url, "alice", room)
            there = await joined(second.url, "alice", other_room)
            bob = await joined(second.url, "bob", room)
            people += [here, there, bob]
            await assert_relays(bob, here)  # across the processes, both ways
            await assert_relays(here, bob)

            async with aiohttp.ClientSession() as session, session.post(
                f"{first.url}/disconnect-user/alice"
            ) as reply:
                assert reply.status == 200

            assert await closed(here) and await closed(there)
            assert bob.client.connected
            state = await bob.next("peer-state", within=3)
            assert state["peer_id"] == here.peer_id and state["connected"] is False
            # The tokens they joined with are revoked, whichever process holds the state.
            for page in (here, there):
                token = page.last_token
                page.client = page._new_client()
                await page.connect()
                ack = await page.call("join", {"token": token, "peer_id": page.peer_id,
                                               "protocol": PROTOCOL_VERSION})
                assert ack["error"]["code"] == "forbidden", ack
    finally:
        for p in people:
            if p.client.connected:
                await p.client.disconnect()


async def test_a_signal_to_a_peer_not_in_the_call_is_refused_across_processes(
    processes: list[RedisProcess], redis: aioredis.Redis, prefix: str
) -> None:
    first, second = processes
    await all_listen(redis, prefix, 2)
    room = f"room-{uuid.uuid4().hex[:8]}"
    people: list[Participant] = []
    try:
        async with asyncio.timeout(20):
            host = await joined(first.url, "host", room, moderate=True)
            guest = Participant(second.url, "guest", room, admission=True)
            await guest.connect()
            people += [host, guest]
            assert (await guest.join())["status"] == "waiting"
            # Neither way while the guest waits: it may not send, nor be sent to.
            ack = await guest.call("signal", {"to": host.peer_id, "candidate": CANDIDATE})
            assert ack["error"]["code"] == "not_joined"
            ack = await host.call("signal", {"to": guest.peer_id, "candidate": CANDIDATE})
            assert ack["error"]["code"] == "peer_not_found"
            ack = await host.call("signal", {"to": str(uuid.uuid4()), "candidate": CANDIDATE})
            assert ack["error"]["code"] == "peer_not_found"

            # Admitted by a moderator on the other process, it signals at once.
            assert await host.call("moderate", {"action": "admit", "target": guest.peer_id}) == {
                "ok": True}
            await guest.next("admitted")
            await assert_relays(guest, host)

            # Removed the same way, it is out of the call before its socket closes.
            assert await host.call("moderate", {"action": "remove", "target": guest.peer_id}) == {
                "ok": True}
            assert await closed(guest)
            ack = await host.call("signal", {"to": guest.peer_id, "candidate": CANDIDATE})
            assert ack["error"]["code"] == "peer_not_found"
    finally:
        for p in people:
            if p.client.connected:
                await p.client.disconnect()


async def test_unreachable_room_state_gets_a_clear_refusal_not_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Nothing listens on this port: every state command fails to connect.
    state = RedisRoomState(f"redis://127.0.0.1:{free_port()}/0", prefix="junta-test:")
    sio, namespace = build_socket_server(secret=SECRET, state=state)
    runner, url = await serve_sockets(sio)
    p = Participant(url, "alice", "room-a")
    try:
        await p.connect()
        with caplog.at_level(logging.INFO, logger="junta.signaling"):
            ack = await p.join()
        assert ack == {"ok": False, "error": {"code": "unavailable",
                                              "message": "room state unreachable, try again"}}
        assert namespace.counters.errors["unavailable"] == 1
        assert not [r for r in caplog.records if "signaling.internal" in r.getMessage()]
        assert any("signaling.state_unavailable" in r.getMessage() for r in caplog.records)
    finally:
        if p.client.connected:
            await p.client.disconnect()
        await namespace.shutdown()
        await runner.cleanup()
        await state.close()
