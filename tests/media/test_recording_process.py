"""Recording in a separate `junta media` process, driven through `RemoteMediaNode`.

The node is the real command in a subprocess; an aiortc bot in the test publishes to it over
loopback. One test stops the recording through the API; the other kills the process with
SIGKILL mid-recording and recovers what it wrote.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import av
import pytest
from aiohttp import web

from media.api import create_app
from media.errors import MediaError
from media.recording import read_manifest, recover_interrupted, unfinished_recordings
from media.remote import RemoteMediaNode
from media.settings import MediaSettings
from tests.media.peers import wait_until
from tests.media.test_recording_sync import PulseBot
from tests.services import free_port

pytestmark = pytest.mark.timeout(60)

SECRET = "r" * 40
ROOM = "lecture"
# What a SIGKILL may cost: the cluster being written (at most a second) and some slack.
CRASH_LOSS_SECONDS = 2.0


class MediaProcess:
    """`junta media` in a subprocess, recording under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # A file, not a pipe: a pipe nobody reads would block the node once it fills.
        self.log_path = root.parent / "media.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115
        port = free_port()
        env = {
            **os.environ,
            "JUNTA_MEDIA_SECRET": SECRET,
            "JUNTA_MEDIA_PORT": str(port),
            "JUNTA_RECORDINGS_DIR": str(root),
        }
        self.process = subprocess.Popen(
            [str(Path(sys.executable).with_name("junta")), "media"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        self.node = RemoteMediaNode(f"http://127.0.0.1:{port}", SECRET)

    async def wait_ready(self) -> None:
        deadline = time.monotonic() + 20
        while True:
            try:
                await self.node.load()
                return
            except MediaError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = self.log_path.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"junta media did not start: {log}") from None
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self._log.close()


class RemoteRoom:
    """What a publisher bot calls on a room, through the remote node."""

    def __init__(self, node: RemoteMediaNode) -> None:
        self.node = node

    async def publish(self, peer_id: str, sdp: str) -> str:
        return await self.node.publish(ROOM, peer_id, sdp)


async def node_reports_receiving(bot: PulseBot, within: float) -> None:
    """Wait until the node's receiver reports (RTCP) on both of the bot's tracks: media flows."""
    deadline = time.monotonic() + within
    while True:
        stats = await bot.pc.getStats()
        if sum(s.type == "remote-inbound-rtp" for s in stats.values()) == 2:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"no receiver reports from the node within {within} s")
        await asyncio.sleep(0.1)


@pytest.fixture
def media_process(tmp_path: Path) -> Iterator[MediaProcess]:
    process = MediaProcess(tmp_path / "recordings")
    try:
        yield process
    finally:
        process.kill()


@pytest.fixture
async def publishing(media_process: MediaProcess) -> AsyncIterator[MediaProcess]:
    """The media process with one bot publishing video and audio in ROOM."""
    await media_process.wait_ready()
    await media_process.node.create_room(ROOM)
    bot = PulseBot("lecturer")
    room = RemoteRoom(media_process.node)
    try:
        await bot.publish(room)
        await wait_until(lambda: bot.pc.connectionState == "connected", within=10)
        await node_reports_receiving(bot, within=10)
        yield media_process
    finally:
        await bot.close()
        await media_process.node.close()


async def test_start_and_stop_recording_through_the_media_api(publishing: MediaProcess) -> None:
    node = publishing.node
    await node.start_recording(ROOM, "remote-1", frozenset({"someone-else"}))
    with pytest.raises(MediaError) as error:
        await node.start_recording(ROOM, "remote-2", frozenset())
    assert error.value.code == "recording_active"
    await asyncio.sleep(2.0)
    await node.set_recording_excluded(ROOM, "someone-else", False)

    manifest = await node.stop_recording(ROOM)

    directory = publishing.root / "remote-1"
    assert read_manifest(directory) == manifest
    assert json.loads((directory / "manifest.json").read_text()) == manifest.to_json()
    assert sorted(t.kind for t in manifest.tracks) == ["audio", "video"]
    assert all(1.5 < t.duration < 3.0 for t in manifest.tracks)
    with pytest.raises(MediaError) as error:
        await node.stop_recording(ROOM)
    assert error.value.code == "not_recording"
    with pytest.raises(MediaError) as error:
        await node.start_recording(ROOM, "../../etc", frozenset())
    assert error.value.code == "bad_recording_id"


async def test_a_recording_killed_with_sigkill_keeps_all_but_its_last_seconds(
    publishing: MediaProcess,
) -> None:
    node = publishing.node
    await node.start_recording(ROOM, "crashed", frozenset())
    started = time.monotonic()
    await asyncio.sleep(5.0)
    publishing.kill()
    recorded_for = time.monotonic() - started

    directory = publishing.root / "crashed"
    assert unfinished_recordings(publishing.root) == [directory]
    assert list(directory.glob("*.part"))
    manifest = recover_interrupted(directory)

    assert manifest.interrupted
    assert manifest.recording_id == "crashed" and manifest.room_id == ROOM
    assert read_manifest(directory) == manifest
    assert unfinished_recordings(publishing.root) == []
    assert not list(directory.glob("*.part"))
    assert sorted(t.kind for t in manifest.tracks) == ["audio", "video"]
    for track in manifest.tracks:
        with av.open(str(directory / track.file)) as container:
            assert container.duration is not None
            duration = container.duration / 1_000_000
            decoded = sum(1 for _ in container.decode(container.streams[0]))
        assert recorded_for - CRASH_LOSS_SECONDS - 0.5 < duration <= recorded_for, track
        assert abs(track.duration - duration) < 0.05
        assert decoded >= track.frames - 2  # the decoder may hold back a frame or two
    seconds = (manifest.ended_at - manifest.started_at).total_seconds()
    assert recorded_for - CRASH_LOSS_SECONDS - 0.5 < seconds <= recorded_for + 0.1
    # Recovering again is harmless: the manifest is there.
    assert recover_interrupted(directory) == manifest


async def test_the_media_api_refuses_malformed_recording_requests(tmp_path: Path) -> None:
    settings = MediaSettings(secret=SECRET, recordings_dir=tmp_path)
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    headers = {"Authorization": f"Bearer {SECRET}"}
    try:
        async with aiohttp.ClientSession(headers=headers) as session:

            async def post(path: str, body: dict[str, Any]) -> tuple[int, Any]:
                async with session.post(f"http://{host}:{port}/v1/{path}", json=body) as reply:
                    return reply.status, await reply.json()

            status, body = await post(
                "start_recording", {"room_id": ROOM, "recording_id": "r", "excluded": "bob"}
            )
            assert (status, body["error"]["code"]) == (400, "bad_request")
            status, body = await post("stop_recording", {"room_id": ROOM})
            assert (status, body["error"]["code"]) == (404, "room_not_found")
            await post("create_room", {"room_id": ROOM})
            status, body = await post(
                "set_recording_excluded", {"room_id": ROOM, "peer_id": "bob", "excluded": True}
            )
            assert (status, body["error"]["code"]) == (409, "not_recording")
            status, body = await post(
                "start_recording", {"room_id": ROOM, "recording_id": "a/b", "excluded": []}
            )
            assert (status, body["error"]["code"]) == (400, "bad_recording_id")
            status, body = await post(
                "start_recording", {"room_id": ROOM, "recording_id": "ok-1", "excluded": []}
            )
            assert (status, body) == (200, {"ok": True})
            status, body = await post("stop_recording", {"room_id": ROOM})
            assert status == 200 and body["manifest"]["recording_id"] == "ok-1"
    finally:
        await runner.cleanup()
    assert (tmp_path / "ok-1" / "manifest.json").exists()
