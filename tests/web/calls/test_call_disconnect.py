"""When a person's sign-in ends — an admin deactivates them, or they end a session — their open
call sockets close at once (not when the join token expires), with a real socket.io client, and
the token they joined with no longer gets them back in."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import socketio
from aiohttp.test_utils import TestClient

from casebook import demo
from signaling.protocol import PROTOCOL_VERSION
from tests.conftest import csrf_from_html
from tests.web.api_helpers import Login, user_id

ROOM = "interconsulta-lla"


class Socket(socketio.AsyncClient):
    """A socket.io client that knows when the server closed it."""

    def __init__(self) -> None:
        super().__init__(reconnection=False)
        self.gone = asyncio.Event()
        self.on("disconnect", self.gone.set, namespace="/call")


async def _join(client: TestClient[Any, Any], token: str) -> tuple[Socket, Any]:
    sio = Socket()
    await sio.connect(str(client.make_url("/")), namespaces=["/call"], transports=["websocket"])
    ack = await sio.call(
        "join", {"token": token, "peer_id": str(uuid.uuid4()), "protocol": PROTOCOL_VERSION},
        namespace="/call", timeout=5,
    )
    return sio, ack


async def _in_call(client: TestClient[Any, Any], csrf: str) -> tuple[Socket, str]:
    reply = await client.post(f"/api/rooms/{ROOM}/join", headers={"X-CSRF-Token": csrf})
    assert reply.status == 200, await reply.text()
    token = (await reply.json())["token"]
    sio, ack = await _join(client, token)
    assert ack["ok"], ack
    return sio, token


async def _closed(sio: Socket, within: float = 3.0) -> bool:
    try:
        await asyncio.wait_for(sio.gone.wait(), within)
    except TimeoutError:
        return False
    return True


async def _refused(client: TestClient[Any, Any], token: str) -> None:
    sio, ack = await _join(client, token)
    try:
        assert not ack["ok"] and ack["error"]["code"] == "forbidden", ack
    finally:
        await sio.disconnect()


async def test_deactivating_a_user_closes_their_calls_at_once(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    sio, token = await _in_call(web_client, await login_as(web_client, demo.SPECIALIST_LA_RAZA))
    try:
        csrf = await login_as(web_client, demo.ADMIN)
        target = await user_id(web_client, demo.SPECIALIST_LA_RAZA)
        reply = await web_client.post(
            f"/admin/users/{target}/deactivate", data={"csrf_token": csrf},
            allow_redirects=False,
        )
        assert reply.status == 303
        assert await _closed(sio)
        await _refused(web_client, token)
    finally:
        await sio.disconnect()


async def test_ending_a_session_closes_its_calls_and_no_new_token_is_given(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    csrf = await login_as(web_client, demo.SPECIALIST_LA_RAZA)
    sio, token = await _in_call(web_client, csrf)
    try:
        html = await (await web_client.get("/account/sessions")).text()
        [own] = re.findall(r'name="session" value="([0-9a-f]{64})"', html)
        reply = await web_client.post(
            "/account/sessions/end", data={"session": own, "csrf_token": csrf_from_html(html)},
            allow_redirects=False,
        )
        assert reply.status == 303
        assert await _closed(sio)
        await _refused(web_client, token)
        # The page's reconnect needs a fresh token, and an ended session gets none.
        again = await web_client.post(f"/api/rooms/{ROOM}/join", headers={"X-CSRF-Token": csrf})
        assert again.status in {401, 403}
    finally:
        await sio.disconnect()
