"""Rooms on a fleet of real `junta media` processes registered in a private `redis-server`:
placed on the less loaded node, kept there, moved once (and announced) when their node dies."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from media.node import NodeLoad
from media.registration import node_key, nodes_key, registration_json
from media.remote import RemoteMediaNode
from media.settings import MediaSettings, MediaSettingsError
from signaling.media_port import MediaChange, RoomMoved
from signaling.roomstate_redis import RedisRoomState
from tests.faults.servers import MEDIA_SECRET, JuntaMediaNode, RedisServer, eventually
from tests.live import test_settings
from tests.services import free_port
from web.app.factory import create_app
from web.app.keys import CALL_NAMESPACE
from web.app.settings import Settings, SettingsError
from web.calls.media_fleet import MediaFleet, NodeRegistry

from .conftest import SECRET
from .sfu_bots import SfuCallServer

pytestmark = pytest.mark.timeout(120)

PREFIX = "fleet-test:"


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[RedisServer, JuntaMediaNode, JuntaMediaNode]]:
    redis = RedisServer(tmp_path).start()
    started: list[JuntaMediaNode] = []
    try:
        for name in ("media-a", "media-b"):
            started.append(JuntaMediaNode(tmp_path, name, redis_url=redis.url, prefix=PREFIX,
                                          recordings_dir=tmp_path / "recordings").start())
        yield redis, started[0], started[1]
    finally:
        for node in started:
            node.stop()
        redis.stop()


@pytest.fixture
async def client(
    nodes: tuple[RedisServer, JuntaMediaNode, JuntaMediaNode],
) -> AsyncIterator[aioredis.Redis]:
    redis = aioredis.Redis.from_url(nodes[0].url)
    yield redis
    await redis.aclose()


async def ids_by_url(registry: NodeRegistry) -> dict[str, str]:
    return {n.url: n.node_id for n in (await registry.live()).values()}


async def test_rooms_go_to_the_less_loaded_node_stay_and_move_once_when_it_dies(
    nodes: tuple[RedisServer, JuntaMediaNode, JuntaMediaNode], client: aioredis.Redis,
) -> None:
    _, a, b = nodes
    registry = NodeRegistry(client, PREFIX, MEDIA_SECRET)
    ids = await eventually(lambda: _both(registry), 10, "both nodes registered")
    # Node A gets busy with a room of its own; its next heartbeat says so.
    busy = RemoteMediaNode(a.url, MEDIA_SECRET)
    await busy.create_room("busy")
    await eventually(lambda: _rooms_of(registry, ids[a.url], 1), 5, "A's load registered")

    state = RedisRoomState(client, prefix=PREFIX)
    fleets = [MediaFleet(redis=client, prefix=PREFIX, state=state, secret=MEDIA_SECRET)
              for _ in range(2)]  # two web processes
    moves: list[list[MediaChange]] = [[], []]
    try:
        for fleet, seen in zip(fleets, moves, strict=True):
            fleet.listen(seen.append)
            await fleet.start()
        await fleets[0].create_room("call")
        assert await state.get_media_node("call") == ids[b.url]  # the less loaded node
        await fleets[1].create_room("call")  # the other process agrees, and it stays there
        assert await state.get_media_node("call") == ids[b.url]
        assert (await RemoteMediaNode(b.url, MEDIA_SECRET).load()).rooms == 1

        b.kill()
        killed = time.monotonic()
        await eventually(lambda: all(any(isinstance(c, RoomMoved) for c in seen)
                                     for seen in moves), 10, "both processes told of the move")
        assert time.monotonic() - killed < 5  # the dropped event stream, not the TTL
        moved = [c for seen in moves for c in seen if isinstance(c, RoomMoved)]
        assert sorted(c.first for c in moved) == [False, True]  # moved once
        assert {c.room_id for c in moved} == {"call"}
        assert await state.get_media_node("call") == ids[a.url]
        assert (await busy.load()).rooms == 2  # re-created on A
        assert await fleets[1].tracks("call") == []  # and reachable from either process
        await eventually(lambda: _gone(registry, ids[b.url]), 10, "B's registration expired")

        # A clean shutdown unregisters at once.
        a.stop()
        assert await registry.live() == {}
    finally:
        for fleet in fleets:
            await fleet.close()
        await busy.close()



async def test_a_hung_node_is_dead_once_its_registration_expires(
    nodes: tuple[RedisServer, JuntaMediaNode, JuntaMediaNode], client: aioredis.Redis,
) -> None:
    _, a, b = nodes
    registry = NodeRegistry(client, PREFIX, MEDIA_SECRET)
    ids = await eventually(lambda: _both(registry), 10, "both nodes registered")
    state = RedisRoomState(client, prefix=PREFIX)
    fleet = MediaFleet(redis=client, prefix=PREFIX, state=state, secret=MEDIA_SECRET)
    seen: list[MediaChange] = []
    fleet.listen(seen.append)
    await fleet.start()
    try:
        await fleet.create_room("call")
        placed = await state.get_media_node("call")
        hung = a if placed == ids[a.url] else b
        assert hung.process is not None
        # Stopped, not killed: its sockets stay open, so only the expired key tells.
        hung.process.send_signal(signal.SIGSTOP)
        stopped = time.monotonic()
        try:
            await eventually(lambda: any(isinstance(c, RoomMoved) for c in seen), 10,
                             "the room moved off the hung node")
            assert time.monotonic() - stopped < 3.0 + 2.0  # the TTL, and a look or two
            assert await state.get_media_node("call") not in (None, placed)
        finally:
            hung.process.send_signal(signal.SIGCONT)
    finally:
        await fleet.close()

async def test_only_registrations_signed_with_the_media_secret_are_believed(
    tmp_path: Path,
) -> None:
    """Someone who can write to Redis registers a node of their own: no web process places a
    room on it, so none sends it the media secret."""
    server = RedisServer(tmp_path).start()
    redis = aioredis.Redis.from_url(server.url)
    try:
        load = NodeLoad(rooms=0, publishers=0, subscribers=0, forwarded_streams=0)
        now = time.time()
        entries = {
            "real": registration_json("http://10.0.0.5:8081", load, node_id="real",
                                      secret=MEDIA_SECRET, now=now),
            "unsigned": json.dumps({"url": "http://10.0.0.66:8081", "rooms": 0}),
            "other-key": registration_json("http://10.0.0.67:8081", load, node_id="other-key",
                                           secret="y" * 40, now=now),
            "stale": registration_json("http://10.0.0.68:8081", load, node_id="stale",
                                       secret=MEDIA_SECRET, now=now - 3600),
        }
        for node_id, raw in entries.items():
            await redis.set(node_key(PREFIX, node_id), raw, ex=30)
            await redis.sadd(nodes_key(PREFIX), node_id)
        registry = NodeRegistry(redis, PREFIX, MEDIA_SECRET)
        assert {i: n.url for i, n in (await registry.live()).items()} == {
            "real": "http://10.0.0.5:8081"}
        state = RedisRoomState(redis, prefix=PREFIX)
        fleet = MediaFleet(redis=redis, prefix=PREFIX, state=state, secret=MEDIA_SECRET)
        await fleet.check()
        assert set(fleet.usable()) == {"real"}
        await fleet.close()
    finally:
        await redis.aclose()
        server.stop()


async def _both(registry: NodeRegistry) -> dict[str, str] | None:
    found = await ids_by_url(registry)
    return found if len(found) == 2 else None


async def _rooms_of(registry: NodeRegistry, node_id: str, rooms: int) -> bool:
    node = (await registry.live()).get(node_id)
    return node is not None and node.rooms == rooms


async def _gone(registry: NodeRegistry, node_id: str) -> bool:
    return node_id not in await registry.live()



def test_a_fleet_needs_redis_and_the_nodes_secret_and_no_fixed_node() -> None:
    env = {"JUNTA_SECRET_KEY": "k" * 40, "JUNTA_MEDIA_FLEET": "true",
           "JUNTA_MEDIA_SECRET": MEDIA_SECRET}
    with pytest.raises(SettingsError, match="needs JUNTA_REDIS_URL"):
        Settings.from_env(env)
    env["JUNTA_REDIS_URL"] = "redis://127.0.0.1:6379/0"
    with pytest.raises(SettingsError, match="exclude each other"):
        Settings.from_env({**env, "JUNTA_MEDIA_URL": "http://127.0.0.1:8081"})
    with pytest.raises(SettingsError, match="JUNTA_MEDIA_SECRET is not"):
        Settings.from_env({k: v for k, v in env.items() if k != "JUNTA_MEDIA_SECRET"})
    with pytest.raises(SettingsError, match="at least 32"):
        Settings.from_env({**env, "JUNTA_MEDIA_SECRET": "short"})
    assert Settings.from_env(env).media_fleet
    assert not Settings.from_env({"JUNTA_SECRET_KEY": "k" * 40}).media_fleet


def test_a_node_registers_with_the_url_it_advertises() -> None:
    env = {"JUNTA_MEDIA_SECRET": MEDIA_SECRET, "JUNTA_MEDIA_PORT": "9001"}
    alone = MediaSettings.from_env(env)
    assert alone.redis_url is None and alone.public_url == "http://127.0.0.1:9001"
    env |= {"JUNTA_REDIS_URL": "redis://r:6379/0", "JUNTA_REDIS_PREFIX": "x:",
            "JUNTA_MEDIA_ADVERTISE_URL": "http://media-1:9001", "JUNTA_MEDIA_NODE_TTL": "5"}
    settings = MediaSettings.from_env(env)
    assert (settings.redis_url, settings.redis_prefix, settings.public_url, settings.node_ttl) \
        == ("redis://r:6379/0", "x:", "http://media-1:9001", 5.0)
    with pytest.raises(MediaSettingsError, match="JUNTA_MEDIA_NODE_TTL must be a number"):
        MediaSettings.from_env({**env, "JUNTA_MEDIA_NODE_TTL": "soon"})
    with pytest.raises(MediaSettingsError, match="between 1 and 60"):
        MediaSettings.from_env({**env, "JUNTA_MEDIA_NODE_TTL": "0.1"})
    with pytest.raises(MediaSettingsError, match="http:// or https://"):
        MediaSettings.from_env({**env, "JUNTA_MEDIA_ADVERTISE_URL": "media-1:9001"})


async def test_a_call_carries_on_on_another_node_when_its_node_is_killed(
    nodes: tuple[RedisServer, JuntaMediaNode, JuntaMediaNode], tmp_path: Path,
) -> None:
    """The whole web app on the fleet, aiortc bots in a board: kill the room's node, and every
    bot decodes the others again through the other node, told only by `sfu {kind: "moved"}`."""
    redis_server, a, b = nodes
    settings = test_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'junta.db'}", secret_key=SECRET,
        recordings_dir=tmp_path / "recordings", storage_dir=tmp_path / "storage",
        redis_url=redis_server.url, redis_prefix=PREFIX, media_fleet=True,
        media_secret=MEDIA_SECRET,
    )
    app = create_app(settings)
    server = TestServer(app, host="127.0.0.1", port=free_port())
    await server.start_server()
    calls = SfuCallServer(str(server.make_url("")).rstrip("/"), app[CALL_NAMESPACE], [])
    try:
        bots = [await calls.bot(name, room="board", room_kind="board")
                for name in ("chair", "speaker", "viewer")]
        for bot in bots:
            ack = await bot.page.join()
            assert ack["ok"] and ack["mode"] == "sfu", ack
            assert (await bot.publish())["ok"]
        for bot in bots:
            await bot.wait_for_video(*(o.peer_id for o in bots if o is not bot), within=20)
        fleet = calls.namespace.sfu.media
        assert isinstance(fleet, MediaFleet)
        placed = fleet.rooms["board"]
        urls = {n.node_id: n.url for n in fleet.nodes()}
        doomed = a if urls[placed] == a.url else b

        doomed.kill()
        killed = time.monotonic()
        await eventually(lambda: all(bot.moves == 1 for bot in bots), 10, "every bot told")
        for bot in bots:
            await bot.wait_for_video(*(o.peer_id for o in bots if o is not bot),
                                     within=max(0.1, 10 - (time.monotonic() - killed)))
        print(f"result: bots decode again {time.monotonic() - killed:.1f} s after the kill")
        assert fleet.rooms["board"] != placed
    finally:
        for bot in calls.bots:
            await bot.close()
        for page in calls.participants:
            if page.client.connected:
                await page.client.disconnect()
        await server.close()
