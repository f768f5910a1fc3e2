"""TURN credentials reach a peer only once it is in the call, and expire with its join grant
(issue 20.2): a relay reaches into the servers' networks as far as coturn lets it, so nobody
waiting to be admitted (a guest with an invite link) may hold one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from signaling.grants import verify_grant
from signaling.ice import IceConfig, ice_servers, turn_credentials
from signaling.server import build_socket_server
from tests.services import free_port

from .conftest import GRACE, SECRET, CallServer

ICE = IceConfig(stun_urls=("stun:turn.junta.test:3478",),
                turn_urls=("turn:turn.junta.test:3478?transport=udp",),
                turn_secret="coturn-shared-secret", turn_ttl=21600)


@pytest.fixture
async def server() -> AsyncIterator[CallServer]:
    sio, namespace = build_socket_server(secret=SECRET, reconnect_grace=GRACE, ice=ICE)
    app = web.Application()
    sio.attach(app)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    call = CallServer(f"http://127.0.0.1:{port}", namespace, [])
    yield call
    for p in call.participants:
        if p.client.connected:
            await p.client.disconnect()
    await namespace.shutdown()
    await runner.cleanup()


def turn_entry(answer: dict[str, Any]) -> dict[str, Any]:
    stun, turn = answer["ice_servers"]
    assert stun == {"urls": list(ICE.stun_urls)}
    assert turn["urls"] == list(ICE.turn_urls)
    return dict(turn)


def expires_with(turn: dict[str, Any], token: str | None, user_id: str) -> None:
    assert token is not None
    grant = verify_grant(token, SECRET, time.time())
    assert (turn["username"], turn["credential"]) == turn_credentials(
        "coturn-shared-secret", user_id, grant.exp)


async def test_a_waiting_guest_gets_turn_credentials_only_once_admitted(
    server: CallServer,
) -> None:
    async with asyncio.timeout(15):
        host = await server.participant("host", join=False, moderate=True)
        ack = await host.join()
        expires_with(turn_entry(ack), host.last_token, "host")

        guest = await server.participant("guest:x", join=False, admission=True)
        waiting = await guest.join()
        assert waiting["status"] == "waiting"
        assert "ice_servers" not in waiting
        assert (await host.next("waiting"))["peers"][0]["peer_id"] == guest.peer_id

        assert await host.call("moderate", {"action": "admit", "target": guest.peer_id}) \
            == {"ok": True}
        admitted = await guest.next("admitted")
        expires_with(turn_entry(admitted), guest.last_token, "guest:x")


def test_turn_credentials_expire_with_the_grant_and_within_the_configured_ttl() -> None:
    short = IceConfig(turn_urls=("turn:t",), turn_secret="k", turn_ttl=60)
    (turn,) = ice_servers(short, "u", now=1000.0, expires=1300)
    assert turn["username"] == "1060:u"
    (turn,) = ice_servers(short, "u", now=1000.0, expires=1030)
    assert turn["username"] == "1030:u"
