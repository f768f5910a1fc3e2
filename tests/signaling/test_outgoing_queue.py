"""Issue 20 (floods): each socket's outgoing queue is bounded; a client that stops reading is
disconnected and counted (`/metrics`), and the room's other clients carry on. Also pins the
python-socketio/engineio internals `signaling.outgoing_queue` relies on."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
import uuid
from importlib.metadata import version
from typing import Any

import aiohttp
import engineio
import pytest
import socketio
from engineio import async_socket, base_server, base_socket
from engineio.async_drivers import aiohttp as aiohttp_driver

from signaling.outgoing_queue import PINNED, BoundedSocketServer, OutgoingQueue, packet_size
from signaling.protocol import PROTOCOL_VERSION
from signaling.server import build_socket_server
from signaling.sockets import room_key
from tests.media.peers import wait_until
from web.http.metrics import collect, exposition

from .conftest import SECRET, Participant, make_token
from .socket_site import serve_sockets

pytestmark = pytest.mark.timeout(60)


def test_the_installed_socketio_and_engineio_are_the_pinned_versions() -> None:
    # outgoing_queue reaches into their internals: a new version must be read before use.
    assert {name: version(name) for name in PINNED} == PINNED


def test_the_private_names_outgoing_queue_uses_are_there() -> None:
    assert "_engineio_server_class" in vars(socketio.AsyncServer)
    assert "create_queue" in vars(engineio.AsyncServer)
    assert "self.sockets = {}" in inspect.getsource(base_server.BaseServer.__init__)
    assert "self.queue = self.server.create_queue()" in inspect.getsource(
        base_socket.BaseSocket.__init__)
    # The writer takes packets with get/get_nowait, the server puts them with put (None: stop).
    poll = inspect.getsource(async_socket.AsyncSocket.poll)
    assert "self.queue.get()" in poll and "self.queue.get_nowait()" in poll
    assert "await self.queue.put(pkt)" in inspect.getsource(async_socket.AsyncSocket.send)
    handler = inspect.getsource(async_socket.AsyncSocket._websocket_handler)
    assert "await self.queue.put(None)" in handler
    # socket.io keeps each connection's environ by Engine.IO sid; aiohttp's has its request.
    sio = BoundedSocketServer(async_mode="aiohttp")
    assert sio.environ == {} and sio.eio.sockets == {}
    assert "'aiohttp.request': request" in inspect.getsource(aiohttp_driver.translate_request)


class _Packet:
    def __init__(self, data: str) -> None:
        self.data = data


async def test_the_queue_takes_packets_up_to_its_limit_then_calls_for_help_once() -> None:
    full: list[OutgoingQueue] = []
    queue = OutgoingQueue(3 * packet_size(_Packet("x" * 100)), full.append)
    for _ in range(3):
        await queue.put(_Packet("x" * 100))
    assert full == [] and queue.qsize() == 3
    await queue.put(_Packet("x" * 100))
    await queue.put(_Packet("x"))
    assert full == [queue] and queue.qsize() == 3
    await queue.put(None)  # the writer's stop signal always goes in
    assert queue.qsize() == 4
    queue.get_nowait()
    assert queue.queued_bytes == 2 * packet_size(_Packet("x" * 100))


class RawPage:
    """A call page on a bare websocket that joins, then stops reading."""

    def __init__(self, url: str, user_id: str) -> None:
        self.url, self.user_id = url, user_id

    async def join(self, session: aiohttp.ClientSession) -> None:
        ws_url = self.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
        self.ws = await session.ws_connect(ws_url, autoping=False)
        assert (await self.ws.receive_str()).startswith("0")  # Engine.IO open
        await self.ws.send_str("40/call,")
        assert (await self.ws.receive_str()).startswith("40/call,")
        join = {"token": make_token(self.user_id, "room-a"), "peer_id": str(uuid.uuid4()),
                "protocol": PROTOCOL_VERSION}
        await self.ws.send_str("42/call,0" + json.dumps(["join", join]))
        ack = await self.ws.receive_str()
        assert ack.startswith("43/call,0") and json.loads(ack[9:])[0]["ok"], ack[:200]


async def test_a_client_that_stops_reading_is_disconnected_and_counted() -> None:
    sio, namespace = build_socket_server(secret=SECRET, reconnect_grace=0.5,
                                         outgoing_limit=256 * 1024)
    runner, url = await serve_sockets(sio)
    reader = Participant(url, "reader", "room-a")
    await reader.connect()
    assert (await reader.join())["ok"]
    slow = RawPage(url, "slow")
    try:
        async with aiohttp.ClientSession() as session:
            await slow.join(session)
            assert (await reader.next("peer-joined"))["user_id"] == "slow"
            # The server broadcasts to the room; `slow` reads nothing from now on.
            blob = "x" * 60_000
            deadline = time.monotonic() + 30
            sent = 0
            while namespace.counters.slow_readers == 0 and time.monotonic() < deadline:
                await namespace.emit("chat", {"text": blob, "n": sent}, room=room_key("room-a"))
                sent += 1
                await asyncio.sleep(0.001)  # the server's other work goes on meanwhile
            assert namespace.counters.slow_readers == 1, sent
            scraped = exposition(await collect(namespace, {})).splitlines()
            assert "junta_slow_readers_disconnected_total 1" in scraped
            print(f"cut off after {sent} broadcasts of {len(blob)} characters")
            # Its socket is gone (the others hear of it as of any lost connection)...
            left: Any = await reader.next("peer-state", within=5)
            assert left["connected"] is False
            await wait_until(lambda: namespace.census()[0] == 1, 5)
            # ...while the reader got every broadcast, in order, and the server still answers.
            got = [reader.received["chat"].get_nowait()["n"]
                   for _ in range(reader.received["chat"].qsize())]
            assert got == list(range(len(got))) and len(got) >= sent - 1
            assert (await reader.call("chat", {"text": "still here"}))["ok"]
    finally:
        await reader.client.disconnect()
        await namespace.shutdown()
        await runner.cleanup()
