"""Call pages as aiortc bots that speak the `sfu` part of `/call`, against a real media node."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import VideoFrame

from media.aiortc_tap.sender import set_stream_id
from signaling.events import CallEvent
from signaling.server import build_socket_server
from tests.media.bots import ToneTrack
from tests.media.peers import wait_until
from web.calls.media_bridge import MediaBridge

from .conftest import SECRET, CallServer, Participant
from .socket_site import serve_sockets

# Long enough for a bot to reconnect and rejoin on a busy machine.
SFU_GRACE = 2.0


class SmallPictureTrack(VideoStreamTrack):
    """160x120 frames whose colour changes every frame: cheap to make, encode and decode."""

    def __init__(self) -> None:
        super().__init__()
        self._index = 0

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame(width=160, height=120, format="yuv420p")
        for number, plane in enumerate(frame.planes):
            plane.update(bytes([(self._index * 9 + number * 50) % 256]) * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        self._index += 1
        return frame


@dataclass
class Decoded:
    """What the bot decoded from one remote track."""

    peer_id: str
    kind: str
    frames: int = 0
    first_at: float | None = None


@dataclass
class SfuBot:
    """One call page: its socket (a `Participant`), a publish and a subscribe connection."""

    page: Participant
    publish_pc: RTCPeerConnection | None = None
    subscribe_pc: RTCPeerConnection | None = None
    offers: list[dict[str, Any]] = field(default_factory=list)
    answered_at: list[float] = field(default_factory=list)
    decoded: list[Decoded] = field(default_factory=list)
    moves: int = 0  # `sfu {kind: "moved"}` received
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def peer_id(self) -> str:
        return self.page.peer_id

    def start(self) -> None:
        """Answer every subscription offer the server sends, in order."""
        self._tasks.append(asyncio.ensure_future(self._answer_offers()))

    async def publish(self, restart: bool = False) -> dict[str, Any]:
        """Offer a camera and a microphone to the SFU on a new connection; the ack carries
        its answer. `restart` replaces the previous publish connection."""
        if self.publish_pc is not None:
            await self.publish_pc.close()
        pc = self.publish_pc = _new_pc()
        pc.addTransceiver(SmallPictureTrack(), direction="sendonly")
        pc.addTransceiver(ToneTrack(), direction="sendonly")
        return await self.renegotiate(restart=restart)

    def add_screen(self, stream_id: str) -> None:
        """Share a screen: a third track, in a stream of its own (publish again after)."""
        assert self.publish_pc is not None
        transceiver = self.publish_pc.addTransceiver(SmallPictureTrack(), direction="sendonly")
        set_stream_id(transceiver.sender, stream_id)

    async def renegotiate(self, restart: bool = False) -> dict[str, Any]:
        """Publish the publish connection's current tracks."""
        pc = self.publish_pc
        assert pc is not None
        await pc.setLocalDescription(await pc.createOffer())
        payload: dict[str, Any] = {"action": "publish", "description": {
            "type": "offer", "sdp": pc.localDescription.sdp}}
        if restart:
            payload["restart"] = True
        ack: dict[str, Any] = await self.page.call("sfu", payload)
        if ack["ok"]:
            await pc.setRemoteDescription(
                RTCSessionDescription(ack["description"]["sdp"], ack["description"]["type"])
            )
        return ack

    async def _answer_offers(self) -> None:
        while True:
            event = await self.page.received["sfu"].get()
            if event["kind"] == "moved":
                await self._moved()
                continue
            assert event["kind"] == "offer"
            self.offers.append(event)
            pc = self.subscribe_pc
            if pc is not None and _ufrag(pc.remoteDescription.sdp) != _ufrag(
                event["description"]["sdp"]
            ):
                # The server made a new subscribe connection: answer it on a new one too.
                await pc.close()
                pc = None
            if pc is None:
                pc = self.subscribe_pc = _new_pc()
                pc.on("track", self._on_track)
            await pc.setRemoteDescription(RTCSessionDescription(event["description"]["sdp"],
                                                                "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            ack = await self.page.call("sfu", {"action": "answer", "description": {
                "type": "answer", "sdp": pc.localDescription.sdp}})
            assert ack == {"ok": True}, ack
            self.answered_at.append(time.monotonic())

    async def _moved(self) -> None:
        """The room moved to another media node: publish there, wait for a fresh offer."""
        self.moves += 1
        if self.subscribe_pc is not None:
            await self.subscribe_pc.close()
            self.subscribe_pc = None
        self.decoded.clear()
        if self.publish_pc is not None:
            self._tasks.append(asyncio.ensure_future(self.publish(restart=True)))

    async def resubscribe(self) -> dict[str, Any]:
        """Replace the subscribe connection, as a client does when it failed."""
        if self.subscribe_pc is not None:
            await self.subscribe_pc.close()
            self.subscribe_pc = None
        self.decoded.clear()
        ack: dict[str, Any] = await self.page.call("sfu", {"action": "resubscribe"})
        return ack

    def _on_track(self, track: MediaStreamTrack) -> None:
        assert self.subscribe_pc is not None
        mid = next(t.mid for t in self.subscribe_pc.getTransceivers()
                   if t.receiver.track is track)
        info = self.offers[-1]["tracks"][mid]
        decoded = Decoded(info["peer_id"], info["kind"])
        self.decoded.append(decoded)
        self._tasks.append(asyncio.ensure_future(self._consume(track, decoded)))

    async def _consume(self, track: MediaStreamTrack, decoded: Decoded) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()
                decoded.frames += 1
                if decoded.first_at is None:
                    decoded.first_at = time.monotonic()

    def video_from(self, peer_id: str) -> Decoded | None:
        return self.media_from(peer_id, "video")

    def media_from(self, peer_id: str, kind: str) -> Decoded | None:
        return next((d for d in self.decoded if d.peer_id == peer_id and d.kind == kind
                     and d.frames > 0), None)

    async def wait_for_video(self, *peers: str, within: float) -> None:
        """Until this bot has decoded video frames from each of `peers`."""
        await wait_until(lambda: all(self.video_from(p) for p in peers), within)

    async def wait_for_media(self, *peers: str, within: float) -> None:
        """Until this bot has decoded audio and video from each of `peers`."""
        await wait_until(lambda: all(self.media_from(p, kind) for p in peers
                                     for kind in ("audio", "video")), within)

    async def close(self) -> None:
        # A cancellation can be swallowed inside socketio's `call` (asyncio.wait_for in 3.11),
        # so cancel until each task is really done.
        pending = set(self._tasks)
        while pending:
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=0.5)
        for pc in (self.publish_pc, self.subscribe_pc):
            if pc is not None:
                await pc.close()


def _new_pc() -> RTCPeerConnection:
    # Bundled like a browser's: aiortc's default policy leaves the second track of a kind in a
    # first offer on a transport of its own, which only another aiortc would connect to.
    return RTCPeerConnection(RTCConfiguration(iceServers=[],
                                              bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))


def _ufrag(sdp: str) -> str | None:
    return next((line.split(":", 1)[1].strip() for line in sdp.splitlines()
                 if line.startswith("a=ice-ufrag:")), None)


@dataclass
class SfuCallServer(CallServer):
    """The `/call` server with an in-process media node, and the bots talking to it."""

    media: MediaBridge | None = None
    bots: list[SfuBot] = field(default_factory=list)

    async def bot(self, user_id: str, room: str = "room-a", **flags: Any) -> SfuBot:
        page = await self.participant(user_id, room, join=False, **flags)
        bot = SfuBot(page)
        self.bots.append(bot)
        bot.start()
        return bot


@pytest.fixture
async def sfu_server() -> AsyncIterator[SfuCallServer]:
    events: list[CallEvent] = []

    async def record(event: CallEvent) -> None:
        events.append(event)

    media = MediaBridge.in_process()
    sio, namespace = build_socket_server(
        secret=SECRET, reconnect_grace=SFU_GRACE, on_event=record, media=media
    )
    runner, url = await serve_sockets(sio)
    server = SfuCallServer(url, namespace, events, media=media)
    yield server
    for bot in server.bots:
        await bot.close()
    for p in server.participants:
        if p.client.connected:
            await p.client.disconnect()
    await namespace.shutdown()
    await media.close()
    await runner.cleanup()
