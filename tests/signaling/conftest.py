"""A real `/call` server on 127.0.0.1 and real python-socketio clients talking to it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import socketio

from signaling.events import CallEvent
from signaling.grants import issue_grant, sign_grant
from signaling.namespace import CallNamespace
from signaling.protocol import PROTOCOL_VERSION
from signaling.server import build_socket_server

from .socket_site import serve_sockets

SECRET = b"test-secret-for-join-tokens-0123"
GRACE = 0.5

OFFER_SDP = (
    "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "a=group:BUNDLE 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
    "a=mid:0\r\na=rtpmap:111 opus/48000/2\r\n"
)
CANDIDATE = {
    "candidate": "candidate:1 1 udp 2122260223 192.0.2.10 54400 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
    "usernameFragment": "abcd",
}


def make_token(user_id: str, room: str, *, now: float | None = None, **flags: Any) -> str:
    grant = issue_grant(
        user_id=user_id, name=f"Dr. {user_id}", room=room, role="specialist",
        now=time.time() if now is None else now, **flags,
    )
    return sign_grant(grant, SECRET)


class Participant:
    """One call page: a socket.io client that records every server event it receives."""

    def __init__(self, url: str, user_id: str, room: str, **flags: Any) -> None:
        self.url, self.user_id, self.room, self.flags = url, user_id, room, flags
        self.peer_id = str(uuid.uuid4())
        self.last_token: str | None = None
        self.received: defaultdict[str, asyncio.Queue[Any]] = defaultdict(asyncio.Queue)
        self.order: list[str] = []  # every event name, in the order received
        self.client = self._new_client()

    def _new_client(self) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False)
        client.on("*", self._record, namespace="/call")
        return client

    async def _record(self, event: str, data: Any = None) -> None:
        self.order.append(event)
        self.received[event].put_nowait(data)

    def token(self, **overrides: Any) -> str:
        return make_token(self.user_id, self.room, **{**self.flags, **overrides})

    async def connect(self) -> None:
        # python-socketio gives the namespace one second by default: twenty bots connecting
        # while Chromium renders a lecture took longer once (the server was fine, only slow).
        await self.client.connect(
            self.url, namespaces=["/call"], transports=["websocket"], wait_timeout=10
        )

    async def reconnect(self) -> None:
        """A new socket for the same page (same peer_id), as after a transport loss."""
        if self.client.connected:
            await self.client.disconnect()
        self.client = self._new_client()
        await self.connect()

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.client.call(event, data, namespace="/call", timeout=5)

    async def join(self, **extra: Any) -> dict[str, Any]:
        payload = {"token": self.token(), "peer_id": self.peer_id, "protocol": PROTOCOL_VERSION}
        payload.update(extra)
        self.last_token = payload["token"]
        ack: dict[str, Any] = await self.call("join", payload)
        return ack

    async def next(self, event: str, within: float = 2.0) -> Any:
        return await asyncio.wait_for(self.received[event].get(), within)

    async def nothing(self, event: str, wait: float = 0.2) -> None:
        await asyncio.sleep(wait)
        assert self.received[event].empty(), f"unexpected {event}: {self.received[event]}"


@dataclass
class CallServer:
    url: str
    namespace: CallNamespace
    events: list[CallEvent]
    participants: list[Participant] = field(default_factory=list)

    async def participant(
        self, user_id: str, room: str = "room-a", *, join: bool = True, **flags: Any
    ) -> Participant:
        p = Participant(self.url, user_id, room, **flags)
        self.participants.append(p)
        await p.connect()
        if join:
            ack = await p.join()
            assert ack["ok"], ack
        return p

    def kinds(self) -> list[tuple[str, str]]:
        return [(e.kind, e.user_id) for e in self.events]


@pytest.fixture
async def call_server() -> AsyncIterator[CallServer]:
    events: list[CallEvent] = []

    async def record(event: CallEvent) -> None:
        events.append(event)

    sio, namespace = build_socket_server(secret=SECRET, reconnect_grace=GRACE, on_event=record)
    runner, url = await serve_sockets(sio)
    server = CallServer(url, namespace, events)
    yield server
    for p in server.participants:
        if p.client.connected:
            await p.client.disconnect()
    await namespace.shutdown()
    await runner.cleanup()


async def assert_relays(a: Participant, b: Participant) -> None:
    """The room still works: an offer and a candidate from a reach b, marked as from a."""
    ack = await a.call("signal", {"to": b.peer_id, "description": {"type": "offer",
                                                                   "sdp": OFFER_SDP}})
    assert ack == {"ok": True}
    assert await b.next("signal") == {
        "from": a.peer_id, "description": {"type": "offer", "sdp": OFFER_SDP}
    }
    assert await a.call("signal", {"to": b.peer_id, "candidate": CANDIDATE}) == {"ok": True}
    assert await b.next("signal") == {"from": a.peer_id, "candidate": CANDIDATE}
