"""POST /api/rooms/{room_id}/join: a signed join token and ICE servers for invitees only."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from signaling.grants import verify_grant
from signaling.protocol import PROTOCOL_VERSION
from tests.conftest import ClientFactory
from web.app.keys import SETTINGS

Login = Callable[..., Awaitable[str]]


async def _join(client: TestClient[Any, Any], room: str, token: str) -> Any:
    return await client.post(f"/api/rooms/{room}/join", headers={"X-CSRF-Token": token})


async def test_invitee_gets_a_token_signaling_accepts(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    csrf = await login_as(web_client, "especialista.merida@junta.example")
    reply = await _join(web_client, "interconsulta-lla", csrf)
    assert reply.status == 200
    body = await reply.json()
    assert body["protocol"] == PROTOCOL_VERSION
    assert body["peer"]["name"] == "Dra. Leticia Canul Pech"
    assert body["ice_servers"] == []
    grant = verify_grant(body["token"], web_client.app[SETTINGS].secret_key, time.time())
    assert grant.user_id == body["peer"]["user_id"]
    assert (grant.room, grant.role, grant.name) == (
        "interconsulta-lla", "specialist", "Dra. Leticia Canul Pech"
    )
    assert grant.publish and grant.subscribe
    assert not grant.moderate and not grant.admission
    assert grant.room_kind == "consultation"
    assert 0 < grant.exp - time.time() <= 300


async def test_moderator_of_an_admission_room_moderates_and_skips_the_waiting_room(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    csrf = await login_as(web_client, "coordinacion@junta.example")
    body = await (await _join(web_client, "junta-tumores-sn", csrf)).json()
    grant = verify_grant(body["token"], web_client.app[SETTINGS].secret_key, time.time())
    assert grant.moderate and not grant.admission


async def test_other_invitees_of_an_admission_room_wait_to_be_admitted(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    csrf = await login_as(web_client, "ponente@junta.example")
    body = await (await _join(web_client, "junta-tumores-sn", csrf)).json()
    grant = verify_grant(body["token"], web_client.app[SETTINGS].secret_key, time.time())
    assert grant.admission and not grant.moderate and grant.role == "lecturer"


async def test_the_grant_carries_the_rooms_kind(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    csrf = await login_as(web_client, "especialista.merida@junta.example")
    secret = web_client.app[SETTINGS].secret_key
    for room, kind in (("junta-tumores-sn", "board"), ("sesion-academica", "lecture")):
        body = await (await _join(web_client, room, csrf)).json()
        assert verify_grant(body["token"], secret, time.time()).room_kind == kind


async def test_the_join_answer_has_stun_but_no_turn_credentials(
    web_client_factory: ClientFactory, login_as: Login
) -> None:
    """TURN credentials come with admission, in the join ack (issue 20.2,
    tests/signaling/test_turn_after_admission.py), never from the join API."""
    client = await web_client_factory(
        stun_urls=("stun:turn.junta.test:3478",),
        turn_urls=("turn:turn.junta.test:3478?transport=udp",),
        turn_secret="coturn-shared-secret",
        turn_ttl=3600,
    )
    csrf = await login_as(client, "especialista.laraza@junta.example")
    body = await (await _join(client, "interconsulta-lla", csrf)).json()
    assert body["ice_servers"] == [{"urls": ["stun:turn.junta.test:3478"]}]


async def test_not_invited_is_404_json(web_client: TestClient[Any, Any], login_as: Login) -> None:
    csrf = await login_as(web_client, "residente@junta.example")
    for room in ("interconsulta-lla", "no-such-room"):
        reply = await _join(web_client, room, csrf)
        assert reply.status == 404
        assert (await reply.json())["error"]["code"] == "not_found"


async def test_signed_out_is_401_json(web_client: TestClient[Any, Any]) -> None:
    page = await web_client.get("/login")
    from tests.conftest import csrf_from_html

    reply = await _join(web_client, "interconsulta-lla", csrf_from_html(await page.text()))
    assert reply.status == 401
    assert await reply.json() == {
        "error": {"code": "not_signed_in", "message": "sign in first"}
    }
