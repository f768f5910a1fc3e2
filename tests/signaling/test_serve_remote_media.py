"""`junta serve` with its SFU in a separate `junta media` process (`JUNTA_MEDIA_URL`).

A real `junta media` subprocess, the whole web app in this process pointed at it, and aiortc
bots speaking `/call`: every offer, answer, candidate and track event crosses the node's HTTP API
and its `/events` websocket. Restarting the media process drops the event stream; the app
reconnects by itself and the next call works.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from media.api import EventHub
from media.api import create_app as create_media_app
from media.remote import RemoteMediaNode
from media.settings import MediaSettings
from signaling.media_port import TrackChange
from tests.live import test_settings
from tests.media.bots import PublisherBot
from tests.media.peers import wait_until
from tests.media.test_remote_node import ROOM, RemoteRoom
from tests.services import free_port, port_open
from web.app.factory import create_app
from web.app.keys import CALL_NAMESPACE
from web.app.settings import Settings, SettingsError
from web.calls.media_bridge import MediaBridge
from web.calls.media_events import Backoff

from .conftest import SECRET
from .sfu_bots import SfuBot, SfuCallServer

pytestmark = pytest.mark.timeout(90)

REPO = Path(__file__).resolve().parents[2]
MEDIA_SECRET = "media-api-secret-for-tests-0123456789"


class JuntaMedia:
    """`junta media` in a subprocess on a fixed port, so that it can be restarted in place."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "media.log"
        self.env = {
            **os.environ,
            "JUNTA_MEDIA_SECRET": MEDIA_SECRET,
            "JUNTA_RECORDINGS_DIR": str(workdir / "recordings"),
        }
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "web.app.cli", "media", "--port", str(self.port),
                cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )
        for _ in range(300):
            if self.process.returncode is not None:
                raise AssertionError(f"junta media exited: {self.log_path.read_text()[-2000:]}")
            if port_open("127.0.0.1", self.port):
                return
            await asyncio.sleep(0.1)
        raise AssertionError("junta media did not listen within 30 s")

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(sig)
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await asyncio.wait_for(self.process.wait(), 10)


@pytest.fixture
async def media(tmp_path: Path) -> AsyncIterator[JuntaMedia]:
    node = JuntaMedia(tmp_path)
    await node.start()
    try:
        yield node
    finally:
        await node.stop()


@pytest.fixture
async def served(
    media: JuntaMedia, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[SfuCallServer]:
    """The whole web app, its SFU being the `junta media` above, and bots to call through it."""
    caplog.set_level(logging.INFO, logger="junta.web.media")  # before the app connects
    settings = test_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'junta.db'}",
        secret_key=SECRET,  # the bots' join tokens are signed with it
        recordings_dir=tmp_path / "recordings",
        storage_dir=tmp_path / "storage",
        reconnect_grace=2.0,
        media_url=media.url,
        media_secret=MEDIA_SECRET,
    )
    app = create_app(settings)
    server = TestServer(app, host="127.0.0.1", port=free_port())
    await server.start_server()
    calls = SfuCallServer(str(server.make_url("")).rstrip("/"), app[CALL_NAMESPACE], [])
    try:
        yield calls
    finally:
        for bot in calls.bots:
            await bot.close()
        for page in calls.participants:
            if page.client.connected:
                await page.client.disconnect()
        await server.close()


async def join(bot: SfuBot) -> dict[str, Any]:
    ack: dict[str, Any] = await bot.page.join()
    assert ack["ok"], ack
    return ack


def logged(caplog: pytest.LogCaptureFixture, prefix: str) -> list[str]:
    """The app's log lines starting with `prefix`, since the app started (in setup)."""
    records = [*caplog.get_records("setup"), *caplog.records]
    return [r.getMessage() for r in records if r.getMessage().startswith(prefix)]


def connections(caplog: pytest.LogCaptureFixture) -> int:
    return len(logged(caplog, "media.events_connected"))


async def test_three_bots_see_each_other_and_record_through_a_separate_media_process(
    served: SfuCallServer, media: JuntaMedia, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await wait_until(lambda: connections(caplog) == 1, within=10)
    alice, bob, carol = [await served.bot(name) for name in ("alice", "bob", "carol")]
    assert (await join(alice))["mode"] == "p2p"
    assert (await join(bob))["mode"] == "p2p"
    assert (await join(carol))["mode"] == "sfu"
    for bot in (alice, bob, carol):
        ack = await bot.publish()
        assert ack["ok"] and ack["description"]["type"] == "answer", ack
    # Each bot is offered the others' tracks only once their TrackPublished events came back
    # over the node's websocket: decoding proves the event stream as well as the API.
    for bot, others in ((alice, (bob, carol)), (bob, (alice, carol)), (carol, (alice, bob))):
        await bot.wait_for_video(*(o.peer_id for o in others), within=20)
    # The SFU really is the other process.
    async with aiohttp.ClientSession() as http, http.get(media.url + "/healthz") as response:
        load = await response.json()
    assert (load["rooms"], load["publishers"], load["subscribers"]) == (1, 3, 3)

    # Recording goes through the same bridge; the node writes into the shared directory.
    bridge = served.namespace.sfu.media
    assert isinstance(bridge, MediaBridge) and isinstance(bridge.node, RemoteMediaNode)
    await bridge.start_recording("room-a", "remote-recording", frozenset({carol.peer_id}))
    await asyncio.sleep(1.5)
    manifest = await bridge.stop_recording("room-a")
    assert {t.publisher_id for t in manifest.tracks} == {alice.peer_id, bob.peer_id}
    directory = tmp_path / "recordings" / "remote-recording"
    assert (directory / "manifest.json").is_file()
    for track in manifest.tracks:
        assert (directory / track.file).stat().st_size == track.size > 0


async def test_the_event_stream_reconnects_after_the_media_process_restarts(
    served: SfuCallServer, media: JuntaMedia, caplog: pytest.LogCaptureFixture
) -> None:
    await wait_until(lambda: connections(caplog) == 1, within=10)
    await media.stop(signal.SIGKILL)
    await wait_until(lambda: bool(logged(caplog, "media.events_lost")), within=5)
    await asyncio.sleep(1.0)  # down for a while: attempts back off, the app keeps serving
    lost = logged(caplog, "media.events_lost")
    assert 1 <= len(lost) <= 3, lost  # backing off from 0.5 s, not a busy loop
    await media.start()
    await wait_until(lambda: connections(caplog) == 2, within=20)

    chair = await served.bot("chair", room="board-after-restart", room_kind="board")
    speaker = await served.bot("speaker", room="board-after-restart", room_kind="board")
    for bot in (chair, speaker):
        assert (await join(bot))["mode"] == "sfu"
        assert (await bot.publish())["ok"]
    await chair.wait_for_video(speaker.peer_id, within=20)
    await speaker.wait_for_video(chair.peer_id, within=20)


def test_a_media_url_needs_the_nodes_secret() -> None:
    env = {"JUNTA_SECRET_KEY": "k" * 40, "JUNTA_MEDIA_URL": "http://127.0.0.1:8081"}
    with pytest.raises(SettingsError, match="JUNTA_MEDIA_SECRET is not"):
        Settings.from_env(env)
    with pytest.raises(SettingsError, match="at least 32"):
        Settings.from_env({**env, "JUNTA_MEDIA_SECRET": "short"})
    with pytest.raises(SettingsError, match="http:// or https://"):
        Settings.from_env({**env, "JUNTA_MEDIA_URL": "media:8081",
                           "JUNTA_MEDIA_SECRET": MEDIA_SECRET})
    settings = Settings.from_env({**env, "JUNTA_MEDIA_SECRET": MEDIA_SECRET})
    assert (settings.media_url, settings.media_secret) == ("http://127.0.0.1:8081", MEDIA_SECRET)
    # Without a URL the SFU runs in-process and a stray secret changes nothing.
    alone = Settings.from_env({"JUNTA_SECRET_KEY": "k" * 40})
    assert alone.media_url is None


async def test_events_missed_while_the_stream_was_down_are_resynced(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="junta.web.media")
    hub = EventHub()
    runner = web.AppRunner(create_media_app(MediaSettings(secret=MEDIA_SECRET), events=hub))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    # A long first delay, so that the track is published while no stream is open.
    bridge = MediaBridge.remote(f"http://{host}:{port}", MEDIA_SECRET,
                                backoff=Backoff(initial=4.0, max_delay=4.0))
    changes: list[TrackChange] = []
    bridge.listen(changes.append)
    publisher = PublisherBot("presenter")
    try:
        await bridge.start()
        assert bridge.events is not None
        await wait_until(lambda: connections(caplog) == 1, within=5)
        await bridge.create_room(ROOM)
        hub.close()  # the node cuts every stream, as it does a consumer too slow to keep up
        await wait_until(lambda: bool(logged(caplog, "media.events_lost")), within=5)
        assert isinstance(bridge.node, RemoteMediaNode)
        room: Any = RemoteRoom(bridge.node, ROOM)
        await publisher.publish(room)
        assert len(await bridge.tracks(ROOM)) == 2
        assert changes == []  # nothing delivered yet: the stream is down

        await wait_until(lambda: len(changes) == 2, within=10)
        assert connections(caplog) == 2
        assert logged(caplog, "media.resynced")
        assert all(c.published and c.room_id == ROOM for c in changes)
        assert {c.track.kind for c in changes} == {"audio", "video"}

        # And the reopened stream carries what happens next.
        await bridge.leave(ROOM, "presenter")
        await wait_until(lambda: len(changes) == 4, within=5)
        assert not any(c.published for c in changes[2:])
    finally:
        await publisher.close()
        await bridge.close()
        await runner.cleanup()
