"""Two signaling processes behind one Redis: a call whose peers reach it through different servers.

Each server has its own socket.io Redis manager (on a channel of its own per test) and its own
`RedisRoomState` (on a key prefix of its own per test), like two processes behind nginx.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import redis.asyncio as aioredis
from aiohttp import web

from signaling.roomstate_redis import RedisRoomState
from signaling.scaleout import CallManager
from signaling.server import build_socket_server
from tests.services import REDIS_URL, port_open, require
from tests.signaling.conftest import (
    CANDIDATE,
    GRACE,
    OFFER_SDP,
    SECRET,
    CallServer,
    Participant,
    assert_relays,
)
from tests.signaling.socket_site import serve_sockets

ANSWER_SDP = OFFER_SDP.replace("o=- 4611731400430051336", "o=- 1111111111111111111")


@dataclass
class Cluster:
    redis: aioredis.Redis
    channel: str
    prefix: str
    servers: list[CallServer] = field(default_factory=list)

    async def wait_until_all_listen(self, within: float = 5.0) -> None:
        """socket.io's manager subscribes after its first connection; emits before are lost."""
        async with asyncio.timeout(within):
            while True:
                ((_, listening),) = await self.redis.pubsub_numsub(self.channel)
                if listening >= len(self.servers):
                    return
                await asyncio.sleep(0.02)


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    require(port_open("127.0.0.1", 6379), "Redis at 127.0.0.1:6379")
    unique = uuid.uuid4().hex
    cluster = Cluster(aioredis.Redis.from_url(REDIS_URL), f"junta-test-{unique}",
                      f"junta-test:{unique}:")
    managers: list[CallManager] = []
    states: list[RedisRoomState] = []
    runners: list[web.AppRunner] = []
    try:
        for _ in range(2):
            manager = CallManager(REDIS_URL, channel=cluster.channel)
            state = RedisRoomState(REDIS_URL, prefix=cluster.prefix)
            managers.append(manager)
            states.append(state)
            sio, namespace = build_socket_server(
                secret=SECRET, reconnect_grace=GRACE, client_manager=manager, state=state
            )
            runner, url = await serve_sockets(sio)
            runners.append(runner)
            cluster.servers.append(CallServer(url, namespace, []))
        yield cluster
    finally:
        for server in cluster.servers:
            for p in server.participants:
                if p.client.connected:
                    await p.client.disconnect()
        for server in cluster.servers:
            await server.namespace.shutdown()
        for runner in runners:
            await runner.cleanup()
        for manager in managers:
            listener = getattr(manager, "thread", None)
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
            if getattr(manager, "redis", None) is not None:
                await manager.redis.aclose()
        for state in states:
            await state.close()
        keys = [key async for key in cluster.redis.scan_iter(match=f"{cluster.prefix}*")]
        if keys:
            await cluster.redis.delete(*keys)
        await cluster.redis.aclose()


async def connected(cluster: Cluster, *people: tuple[int, str, dict[str, bool]]) -> list[
    Participant
]:
    """Participants connected (not joined) to the given servers, once every server listens."""
    found = [
        await cluster.servers[server].participant(user, join=False, **flags)
        for server, user, flags in people
    ]
    await cluster.wait_until_all_listen()
    return found


async def test_peers_on_different_servers_share_one_call(cluster: Cluster) -> None:
    async with asyncio.timeout(15):
        alice, bob = await connected(cluster, (0, "alice", {}), (1, "bob", {}))
        assert (await alice.join())["status"] == "joined"
        ack = await bob.join()
        assert ack["status"] == "joined"
        assert [p["peer_id"] for p in ack["peers"]] == [alice.peer_id]
        assert (await alice.next("peer-joined"))["peer_id"] == bob.peer_id

        # Offer, answer and candidates cross from one process to the other and back.
        await assert_relays(alice, bob)
        answer = {"type": "answer", "sdp": ANSWER_SDP}
        assert await bob.call("signal", {"to": alice.peer_id, "description": answer}) == {
            "ok": True
        }
        assert await alice.next("signal") == {"from": bob.peer_id, "description": answer}
        assert await bob.call("signal", {"to": alice.peer_id, "candidate": CANDIDATE}) == {
            "ok": True
        }
        assert await alice.next("signal") == {"from": bob.peer_id, "candidate": CANDIDATE}

        chat = await bob.call("chat", {"text": "¿me escuchan?"})
        assert chat["ok"]
        assert await alice.next("chat") == chat["message"]
        assert await bob.next("chat") == chat["message"]

        assert (await alice.call("state", {"hand": True}))["ok"]
        seen = await bob.next("peer-state")
        assert seen["peer_id"] == alice.peer_id and seen["state"]["hand"]

        # What either process stored, the other reads: a late joiner via server 0 sees it all.
        (carol,) = await connected(cluster, (0, "carol", {}))
        ack = await carol.join()
        assert ack["chat"] == [chat["message"]]
        peers = {p["peer_id"]: p for p in ack["peers"]}
        assert list(peers) == [alice.peer_id, bob.peer_id]
        assert peers[alice.peer_id]["state"]["hand"]

        assert await bob.call("leave") == {"ok": True}
        assert await alice.next("peer-left") == {"peer_id": bob.peer_id, "reason": "left"}
        assert await carol.next("peer-left") == {"peer_id": bob.peer_id, "reason": "left"}


async def test_a_peer_back_through_the_other_server_outlives_its_old_grace(
    cluster: Cluster,
) -> None:
    async with asyncio.timeout(15):
        alice, bob = await connected(cluster, (0, "alice", {}), (1, "bob", {}))
        assert (await alice.join())["ok"] and (await bob.join())["ok"]
        await bob.client.disconnect()  # server 1 starts bob's reconnect grace
        assert (await alice.next("peer-state"))["connected"] is False

        bob.url = cluster.servers[0].url  # the page comes back behind the other server
        await bob.reconnect()
        ack = await bob.join()
        assert ack["status"] == "joined" and [p["peer_id"] for p in ack["peers"]] == [
            alice.peer_id
        ]
        assert (await alice.next("peer-state"))["connected"] is True

        # Server 1's timer runs out: its compare-and-delete finds bob on another socket.
        await alice.nothing("peer-left", wait=GRACE + 0.4)
        await assert_relays(alice, bob)
        await assert_relays(bob, alice)


async def test_a_moderator_admits_a_guest_waiting_on_the_other_server(cluster: Cluster) -> None:
    async with asyncio.timeout(15):
        host, guest = await connected(
            cluster, (0, "host", {"moderate": True}), (1, "guest", {"admission": True})
        )
        assert (await host.join())["status"] == "joined"
        assert (await guest.join())["status"] == "waiting"
        waiting = await host.next("waiting")
        assert [p["peer_id"] for p in waiting["added"]] == [guest.peer_id]

        assert await host.call(
            "moderate", {"action": "admit", "target": guest.peer_id}
        ) == {"ok": True}
        admitted = await guest.next("admitted")
        assert admitted["status"] == "joined"
        assert [p["peer_id"] for p in admitted["peers"]] == [host.peer_id]
        assert (await host.next("peer-joined"))["peer_id"] == guest.peer_id

        # The other server put the guest's socket in the call's room: room events reach it.
        chat = await host.call("chat", {"text": "bienvenida"})
        assert await guest.next("chat") == chat["message"]
        await assert_relays(guest, host)


async def test_a_signal_between_sockets_of_one_process_is_not_published(
    cluster: Cluster,
) -> None:
    async with asyncio.timeout(15):
        server = cluster.servers[0]
        alice, bob = await server.participant("alice"), await server.participant("bob")
        async with cluster.redis.pubsub(ignore_subscribe_messages=True) as watcher:
            await watcher.subscribe(cluster.channel)
            await assert_relays(alice, bob)
            published = []
            for _ in range(10):  # what reached the channel within half a second
                message = await watcher.get_message(timeout=0.05)
                if message is not None:
                    published.append(json.loads(message["data"]))
        # Not even the relayed signal: only the sockets' own process could deliver it.
        assert [m.get("event") for m in published if m.get("method") == "emit"] == []


async def test_a_token_in_use_behind_one_server_is_refused_behind_the_other(
    cluster: Cluster,
) -> None:
    async with asyncio.timeout(15):
        alice, copy = await connected(cluster, (0, "alice", {}), (1, "alice", {}))
        assert (await alice.join())["ok"]
        ack = await copy.join(token=alice.last_token)
        assert ack["ok"] is False and ack["error"]["code"] == "token_in_use", ack
