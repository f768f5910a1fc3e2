"""TURN credentials reach a peer only once it is in the call, and expire with its join grant
(issue 20.2): a relay reaches into the servers' networks as far as coturn lets it, so nobody
waiting to be admitted (a guest with an invite link) may hold one. A peer in the call asks for
fresh ones (`ice`) for as long as it stays, so connections opened late still get a relay."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from signaling.connection import ICE_BURST
from signaling.grants import MAX_TTL, verify_grant
from signaling.ice import IceConfig, ice_answer, ice_servers, turn_credentials
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
        assert (await host.next("waiting"))["added"][0]["peer_id"] == guest.peer_id

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


def verifies(turn: dict[str, Any], user_id: str) -> int:
    """The entry's expiry, after checking its credential is coturn's HMAC of its username."""
    expiry, user = turn["username"].split(":", 1)
    assert user == user_id
    digest = hmac.new(b"coturn-shared-secret", turn["username"].encode(), hashlib.sha1).digest()
    assert base64.b64decode(turn["credential"]) == digest
    return int(expiry)


async def test_a_participant_in_the_call_gets_fresh_turn_credentials(server: CallServer) -> None:
    async with asyncio.timeout(15):
        host = await server.participant("host")
        before = time.time()
        answer = await host.call("ice", {})
        assert answer["ok"] is True
        expiry = verifies(turn_entry(answer), "host")
        # Valid from now for as long as a join grant lives, whatever the token it joined with.
        assert before < expiry <= time.time() + MAX_TTL
        assert expiry >= int(before) + MAX_TTL
        assert abs(answer["ice_expires_in"] - (expiry - time.time())) <= 1


async def test_the_join_ack_says_when_its_turn_credentials_expire(server: CallServer) -> None:
    async with asyncio.timeout(15):
        host = await server.participant("host", join=False)
        ack = await host.join()
        expiry = verifies(turn_entry(ack), "host")
        assert abs(ack["ice_expires_in"] - (expiry - time.time())) <= 1


async def test_nobody_outside_the_call_gets_turn_credentials(server: CallServer) -> None:
    not_joined = {"ok": False, "error": {"code": "not_joined", "message": "join first"}}
    async with asyncio.timeout(15):
        host = await server.participant("host", moderate=True)
        stranger = await server.participant("stranger", join=False)
        assert await stranger.call("ice", {}) == not_joined

        guest = await server.participant("guest:x", join=False, admission=True)
        assert (await guest.join())["status"] == "waiting"
        refused = await guest.call("ice", {})
        assert refused["error"]["code"] == "not_joined"
        await host.next("waiting")
        await host.call("moderate", {"action": "admit", "target": guest.peer_id})
        await guest.next("admitted")
        assert (await guest.call("ice", {}))["ok"] is True

        # Removed: out of the call, and back only through the waiting room.
        await host.call("moderate", {"action": "remove", "target": guest.peer_id})
        assert (await guest.next("moderated"))["action"] == "remove"
        await guest.reconnect()
        assert await guest.call("ice", {}) == not_joined
        # A new token (the removed one is barred) for the same person: the waiting room.
        assert (await guest.join(token=guest.token(now=time.time() + 1)))["status"] == "waiting"
        assert (await guest.call("ice", {}))["error"]["code"] == "not_joined"


async def test_ice_requests_are_rate_limited(server: CallServer) -> None:
    async with asyncio.timeout(15):
        host = await server.participant("host")
        answers = [await host.call("ice", {}) for _ in range(ICE_BURST + 1)]
        assert all(a["ok"] for a in answers[:ICE_BURST])
        assert answers[ICE_BURST]["error"]["code"] == "rate_limited"
        # The payload is checked first, as for `chat`: `ice` carries nothing.
        assert (await host.call("ice", {"extra": 1}))["error"]["code"] == "invalid_payload"


def test_without_turn_nothing_expires() -> None:
    assert ice_answer(IceConfig(stun_urls=("stun:s",)), "u", now=1000.0) == {
        "ice_servers": [{"urls": ["stun:s"]}], "ice_expires_in": None}
    # Credentials past their expiry already (a guest admitted after a long wait) say 0: ask now.
    short = IceConfig(turn_urls=("turn:t",), turn_secret="k", turn_ttl=60)
    assert ice_answer(short, "u", now=1000.0, expires=990)["ice_expires_in"] == 0
