"""Redis restarted during a call across two processes: signaling recovers within 5 s, without
restarting `junta serve`, and the call's room survives (Redis keeps an append-only file)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.faults.servers import Caller, JuntaServe, RedisServer, http_json, relays


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[RedisServer, JuntaServe, JuntaServe]]:
    redis = RedisServer(tmp_path).start()
    env = {"JUNTA_REDIS_URL": redis.url, "JUNTA_REDIS_PREFIX": "faults:"}
    first = JuntaServe(tmp_path, "serve-a", **env)
    second = JuntaServe(tmp_path, "serve-b", **env)
    try:
        first.start()
        second.start()
        yield redis, first, second
    finally:
        first.stop()
        second.stop()
        redis.stop()


async def test_signaling_recovers_within_five_seconds_of_a_redis_restart(
    cluster: tuple[RedisServer, JuntaServe, JuntaServe],
) -> None:
    redis, first, second = cluster
    room = f"room-{uuid.uuid4().hex[:8]}"
    alice = await Caller(first.url, "alice", room).connect()
    bob = await Caller(second.url, "bob", room).connect()
    try:
        await relays(alice, bob, within=5)

        redis.stop()
        status, body = await http_json("GET", first.url + "/readyz")
        assert status == 503 and body["checks"]["redis"].startswith("unreachable")
        redis.start()
        restarted_at = time.monotonic()

        await relays(alice, bob, within=5)
        await relays(bob, alice, within=5)
        assert time.monotonic() - restarted_at < 5
        status, body = await http_json("GET", second.url + "/readyz")
        assert status == 200 and body["checks"]["redis"] == "ok"
        # Nobody was dropped or rejoined: the sockets never closed, the room was kept.
        assert len(alice.joins) == 1 and len(bob.joins) == 1
        assert bob.seen("peer-left") == [] and alice.seen("peer-left") == []
        # What each process reports of itself, and the outage's refusals counted by code.
        async with aiohttp.ClientSession() as session, session.get(first.url + "/metrics") as r:
            metrics = dict(line.rsplit(" ", 1) for line in (await r.text()).splitlines()
                           if not line.startswith("#"))
        assert metrics["junta_connected_clients"] == "1"
        assert metrics["junta_rooms"] == "1"
        assert metrics['junta_participants{mode="p2p"}'] == "1"
        assert int(metrics["junta_signal_messages_relayed_total"]) >= 2
        assert int(metrics['junta_signaling_events_total{event="signal"}']) >= 2
    finally:
        await alice.close()
        await bob.close()
