"""A person's own sessions: listed with device, address and times; ending one takes effect at
once; nobody can end someone else's."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import ClientFactory, csrf_from_html
from tests.web.helpers import audit_actions, cookie
from web.http.auth import SESSION_COOKIE

Login = Any
LA_RAZA = "especialista.laraza@junta.example"
MERIDA = "especialista.merida@junta.example"


def _session_ids(html: str) -> list[str]:
    return re.findall(r'name="session" value="([0-9a-f]{64})"', html)


async def test_sessions_are_listed_and_one_ended_elsewhere_stops_at_once(
    web_client: TestClient[Any, Any], web_client_factory: ClientFactory, login_as: Login
) -> None:
    laptop = web_client
    await login_as(laptop, LA_RAZA)
    phone = await web_client_factory()
    phone.session.headers["User-Agent"] = "Mozilla/5.0 (iPhone) Safari/604.1"
    await login_as(phone, LA_RAZA)

    page = await laptop.get("/account/sessions")
    html = await page.text()
    assert page.status == 200
    assert "iPhone" in html and "127.0.0.1" in html
    assert html.count('class="session-row') == 2
    assert "Este dispositivo" in html
    [phone_row] = re.findall(r'<tr class="session-row">.*?</tr>', html, re.S)
    [phone_id] = _session_ids(phone_row)

    reply = await laptop.post(
        "/account/sessions/end",
        data={"session": phone_id, "csrf_token": csrf_from_html(html)},
        allow_redirects=False,
    )
    assert reply.status == 303 and reply.headers["Location"] == "/account/sessions"
    assert (await phone.get("/dashboard", allow_redirects=False)).status == 303
    assert (await laptop.get("/dashboard", allow_redirects=False)).status == 200
    assert len(await audit_actions(laptop, "auth.session_ended")) == 1


async def test_nobody_ends_someone_elses_session(
    web_client: TestClient[Any, Any], web_client_factory: ClientFactory, login_as: Login
) -> None:
    await login_as(web_client, LA_RAZA)
    [own_id] = _session_ids(await (await web_client.get("/account/sessions")).text())
    intruder = await web_client_factory()
    csrf = await login_as(intruder, MERIDA)
    reply = await intruder.post(
        "/account/sessions/end", data={"session": own_id, "csrf_token": csrf},
        allow_redirects=False,
    )
    assert reply.status == 404
    assert (await web_client.get("/dashboard", allow_redirects=False)).status == 200


async def test_ending_this_session_signs_out_and_others_can_be_ended_together(
    web_client: TestClient[Any, Any], web_client_factory: ClientFactory, login_as: Login
) -> None:
    others = [await web_client_factory() for _ in range(2)]
    for other in others:
        await login_as(other, LA_RAZA)
    csrf = await login_as(web_client, LA_RAZA)
    reply = await web_client.post(
        "/account/sessions/end-others", data={"csrf_token": csrf}, allow_redirects=False
    )
    assert reply.status == 303
    for other in others:
        assert (await other.get("/dashboard", allow_redirects=False)).status == 303
    html = await (await web_client.get("/account/sessions")).text()
    [own_id] = _session_ids(html)
    reply = await web_client.post(
        "/account/sessions/end", data={"session": own_id, "csrf_token": csrf},
        allow_redirects=False,
    )
    assert reply.status == 303 and reply.headers["Location"] == "/login"
    assert not cookie(web_client, SESSION_COOKIE)
    [ended] = await audit_actions(web_client, "auth.sessions_ended")
    assert ended.detail == {"count": 2}
