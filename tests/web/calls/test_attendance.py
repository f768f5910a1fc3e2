"""Joining and leaving calls lands in the audit trail."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import socketio
from aiohttp.test_utils import TestClient

from casebook.models import AuditEvent
from signaling.events import CallEvent
from signaling.protocol import PROTOCOL_VERSION
from tests.conftest import ClientFactory
from tests.services import REDIS_URL, port_open, require
from tests.web.helpers import audit_actions
from web.app.keys import SESSIONS
from web.calls.attendance import call_event_recorder

Login = Callable[..., Awaitable[str]]


async def _wait_for(client: TestClient[Any, Any], action: str) -> list[AuditEvent]:
    deadline = asyncio.get_running_loop().time() + 5.0
    while True:
        events = await audit_actions(client, action)
        if events or asyncio.get_running_loop().time() > deadline:
            return events
        await asyncio.sleep(0.05)


async def test_joining_and_leaving_a_call_is_audited(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    csrf = await login_as(web_client, "especialista.laraza@junta.example")
    reply = await web_client.post(
        "/api/rooms/interconsulta-lla/join", headers={"X-CSRF-Token": csrf}
    )
    body = await reply.json()
    peer_id = str(uuid.uuid4())
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(
        str(web_client.make_url("/")), namespaces=["/call"], transports=["websocket"]
    )
    try:
        ack = await sio.call(
            "join",
            {"token": body["token"], "peer_id": peer_id, "protocol": PROTOCOL_VERSION},
            namespace="/call",
            timeout=5,
        )
        assert ack["ok"], ack
        joined = await _wait_for(web_client, "room.joined")
        assert await sio.call("leave", {}, namespace="/call", timeout=5) == {"ok": True}
        left = await _wait_for(web_client, "room.left")
    finally:
        await sio.disconnect()
    user_id = body["peer"]["user_id"]
    for events in (joined, left):
        assert len(events) == 1
        event = events[0]
        assert (event.actor_user_id, event.target_type, event.target_id) == (
            user_id, "room", "interconsulta-lla"
        )
        assert event.detail["peer_id"] == peer_id


async def test_events_of_unknown_users_are_kept_without_an_actor(
    web_client: TestClient[Any, Any],
) -> None:
    on_event = call_event_recorder(web_client.app[SESSIONS])
    at = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    await on_event(CallEvent("joined", "interconsulta-lla", "bot-7", "p-1", at))
    (event,) = await audit_actions(web_client, "room.joined")
    assert event.actor_user_id is None
    assert event.detail == {"peer_id": "p-1", "user_id": "bot-7"}
    assert event.at == at


async def test_a_call_works_with_the_redis_manager(
    web_client_factory: ClientFactory, login_as: Login
) -> None:
    require(port_open("127.0.0.1", 6379), "Redis at 127.0.0.1:6379")
    client = await web_client_factory(redis_url=REDIS_URL)
    csrf = await login_as(client, "especialista.merida@junta.example")
    body = await (
        await client.post("/api/rooms/interconsulta-lla/join", headers={"X-CSRF-Token": csrf})
    ).json()
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(str(client.make_url("/")), namespaces=["/call"], transports=["websocket"])
    try:
        ack = await sio.call(
            "join",
            {"token": body["token"], "peer_id": str(uuid.uuid4()), "protocol": PROTOCOL_VERSION},
            namespace="/call",
            timeout=5,
        )
        assert ack["ok"] and ack["status"] == "joined", ack
    finally:
        await sio.disconnect()
