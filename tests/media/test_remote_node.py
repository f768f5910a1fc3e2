"""The media node behind its internal API: real aiortc bots through `RemoteMediaNode`.

The API runs in this process on 127.0.0.1 (a free port); everything between the bots and the
SFU goes over HTTP exactly as it would to a separate `junta media` process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from media.api import create_app
from media.errors import MediaError
from media.events import MediaEvent, TrackPublished, TrackUnpublished
from media.remote import RemoteMediaNode
from media.room import SubscriptionOffer
from media.settings import MediaSettings, MediaSettingsError
from tests.media.bots import PublisherBot, SubscriberBot
from tests.media.peers import wait_until
from web.app import cli

pytestmark = pytest.mark.timeout(30)

SECRET = "s" * 40
ROOM = "tumor-board"


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    """The media API served on a free loopback port."""
    runner = web.AppRunner(create_app(MediaSettings(secret=SECRET)))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def node(base_url: str) -> AsyncIterator[RemoteMediaNode]:
    remote = RemoteMediaNode(base_url, SECRET)
    try:
        yield remote
    finally:
        await remote.close()


class RemoteRoom:
    """What the bots call on a `Room`, carried out through a remote node."""

    def __init__(self, node: RemoteMediaNode, room_id: str) -> None:
        self.node = node
        self.room_id = room_id

    async def publish(self, peer_id: str, sdp: str) -> str:
        return await self.node.publish(self.room_id, peer_id, sdp)

    async def subscribe(self, peer_id: str) -> SubscriptionOffer:
        return await self.node.subscribe(self.room_id, peer_id)

    async def answer(self, peer_id: str, sdp: str) -> None:
        await self.node.answer(self.room_id, peer_id, sdp)


async def _post(base_url: str, path: str, *, secret: str | None = SECRET, **kw: Any) -> Any:
    headers = {"Authorization": f"Bearer {secret}"} if secret is not None else {}
    async with (
        aiohttp.ClientSession() as session,
        session.post(base_url + path, headers=headers, **kw) as response,
    ):
        return response.status, await response.json()


async def test_bots_publish_and_receive_video_through_a_remote_node(
    node: RemoteMediaNode,
) -> None:
    events: list[MediaEvent] = []
    await node.create_room(ROOM)
    room: Any = RemoteRoom(node, ROOM)
    publisher = PublisherBot("presenter")
    viewer = SubscriberBot("viewer")
    async with node.events() as stream:

        async def collect() -> None:
            async for event in stream:
                events.append(event)

        collector = asyncio.ensure_future(collect())
        try:
            await publisher.publish(room)
            await wait_until(lambda: len(events) == 2, within=5)
            assert {type(e) for e in events} == {TrackPublished}
            assert {e.track.kind for e in events} == {"audio", "video"}
            assert {t.track_id for t in await node.tracks(ROOM)} == {
                e.track.track_id for e in events
            }

            await viewer.subscribe(room)
            video = await viewer.wait_for_frames("video", within=15)
            assert video.sizes == {(640, 480)}
            load = await node.load()
            assert (load.rooms, load.publishers, load.subscribers) == (1, 1, 1)
            assert load.forwarded_streams == 2

            await node.close_connection(ROOM, "viewer", "subscribe")
            assert (await node.load()).subscribers == 0
            await node.leave(ROOM, "presenter")
            await wait_until(lambda: len(events) == 4, within=5)
            assert {type(e) for e in events[2:]} == {TrackUnpublished}
        finally:
            collector.cancel()
            await viewer.close()
            await publisher.close()
    await node.close_room(ROOM)
    assert (await node.load()).rooms == 0


async def test_requests_without_the_right_secret_are_refused(base_url: str) -> None:
    status, body = await _post(base_url, "/v1/create_room", secret=None, json={"room_id": "r"})
    assert status == 401
    assert body["error"]["code"] == "unauthorized"
    wrong = RemoteMediaNode(base_url, "x" * 40)
    try:
        with pytest.raises(MediaError) as refused:
            await wrong.create_room(ROOM)
        assert refused.value.code == "unauthorized"
        with pytest.raises(MediaError) as events_refused:
            async with wrong.events():
                pass
        assert events_refused.value.code == "unauthorized"
        # Health carries only counts, for load balancers and compose health checks.
        assert (await wrong.load()).rooms == 0
    finally:
        await wrong.close()


@pytest.mark.parametrize(
    ("path", "kwargs", "status", "code"),
    [
        ("/v1/create_room", {"data": b"{not json"}, 400, "bad_request"),
        ("/v1/create_room", {"json": ["room"]}, 400, "bad_request"),
        ("/v1/create_room", {"json": {}}, 400, "bad_request"),
        ("/v1/create_room", {"json": {"room_id": 7}}, 400, "bad_request"),
        ("/v1/create_room", {"json": {"room_id": "r", "extra": 1}}, 400, "bad_request"),
        ("/v1/create_room", {"json": {"room_id": "r" * 129}}, 400, "bad_request"),
        (
            "/v1/publish",
            {"json": {"room_id": "nowhere", "peer_id": "p", "sdp": "v=0"}},
            404,
            "room_not_found",
        ),
        (
            "/v1/set_paused",
            {"json": {"room_id": "r", "peer_id": "p", "track_id": "t"}},
            400,
            "bad_request",
        ),
        ("/v1/no_such_method", {"json": {}}, 404, "not_found"),
        ("/v1/create_room", {"data": b"x" * (300 * 1024)}, 413, "request_entity_too_large"),
    ],
)
async def test_malformed_requests_get_a_json_error(
    base_url: str, path: str, kwargs: dict[str, Any], status: int, code: str
) -> None:
    got_status, body = await _post(base_url, path, **kwargs)
    assert (got_status, body["error"]["code"]) == (status, code)
    assert body["error"]["message"]


async def test_node_errors_arrive_as_media_errors_with_the_servers_code(
    node: RemoteMediaNode,
) -> None:
    await node.create_room(ROOM)
    with pytest.raises(MediaError) as bad_sdp:
        await node.publish(ROOM, "presenter", "v=0\r\nnot an offer\r\n")
    assert bad_sdp.value.code == "bad_sdp"
    with pytest.raises(MediaError) as not_subscribed:
        await node.answer(ROOM, "nobody", "v=0\r\n")
    assert not_subscribed.value.code == "not_subscribed"
    with pytest.raises(MediaError) as no_room:
        await node.tracks("elsewhere")
    assert no_room.value.code == "room_not_found"


async def test_an_unreachable_node_is_a_media_error() -> None:
    remote = RemoteMediaNode("http://127.0.0.1:9", SECRET, timeout=2)
    try:
        with pytest.raises(MediaError) as unreachable:
            await remote.create_room(ROOM)
        assert unreachable.value.code == "node_unreachable"
    finally:
        await remote.close()


def test_junta_media_refuses_to_start_without_a_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("JUNTA_MEDIA_SECRET", raising=False)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        assert cli.main(["media", "--port", "9"]) == 1
    finally:
        # `main` points logging at this test's captured stderr, which closes with the test.
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
    assert "JUNTA_MEDIA_SECRET" in capsys.readouterr().err


def test_media_settings_come_from_the_environment_and_flags() -> None:
    env = {"JUNTA_MEDIA_SECRET": SECRET, "JUNTA_MEDIA_HOST": "0.0.0.0", "JUNTA_MEDIA_PORT": "9000"}
    assert MediaSettings.from_env(env) == MediaSettings(SECRET, "0.0.0.0", 9000)
    assert MediaSettings.from_env(env, port=9100).port == 9100
    with pytest.raises(MediaSettingsError, match="JUNTA_MEDIA_SECRET"):
        MediaSettings.from_env({})
    with pytest.raises(MediaSettingsError, match="at least 32"):
        MediaSettings.from_env({"JUNTA_MEDIA_SECRET": "short"})
    with pytest.raises(MediaSettingsError, match="JUNTA_MEDIA_PORT"):
        MediaSettings.from_env({**env, "JUNTA_MEDIA_PORT": "http"})
    stun = MediaSettings.from_env({**env, "JUNTA_STUN_URLS": "stun:a:3478, stun:b:3478"})
    assert stun.stun_urls == ("stun:a:3478", "stun:b:3478")
    with pytest.raises(MediaSettingsError, match="JUNTA_STUN_URLS"):
        MediaSettings.from_env({**env, "JUNTA_STUN_URLS": "turn:a:3478"})
