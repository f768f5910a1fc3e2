"""Signing in and out: sessions, cookies, rotation, idle expiry and throttling."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import update
from yarl import URL

from casebook.clock import utcnow
from casebook.demo import DEMO_PASSWORD
from casebook.models import UserSession
from tests.conftest import ClientFactory, csrf_from_html
from tests.web.helpers import audit_actions, cookie
from web.app.keys import SESSIONS
from web.http.auth import SESSION_COOKIE
from web.http.csrf import CSRF_COOKIE

Login = Callable[..., Awaitable[str]]
LA_RAZA = "especialista.laraza@junta.example"


async def _post_login(
    client: TestClient[Any, Any], email: str, password: str, **headers: str
) -> Any:
    page = await client.get("/login")
    token = csrf_from_html(await page.text())
    return await client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token, "next": "/dashboard"},
        headers=headers,
        allow_redirects=False,
    )


async def test_sign_in_sets_a_httponly_samesite_lax_session_cookie(
    web_client: TestClient[Any, Any],
) -> None:
    reply = await _post_login(web_client, LA_RAZA, DEMO_PASSWORD)
    assert reply.status == 303 and reply.headers["Location"] == "/dashboard"
    morsel = reply.cookies[SESSION_COOKIE]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert not morsel["secure"]
    assert morsel["path"] == "/"
    assert len(await audit_actions(web_client, "auth.login")) == 1


async def test_session_cookie_is_secure_when_configured(
    web_client_factory: ClientFactory,
) -> None:
    client = await web_client_factory(cookie_secure=True)
    page = await client.get("/login")
    pre_session = page.cookies[CSRF_COOKIE]
    assert pre_session["secure"] is True
    # Plain-HTTP test client: hand the Secure cookie back by hand, as a browser on TLS would.
    client.session.cookie_jar.update_cookies({CSRF_COOKIE: pre_session.value})
    reply = await client.post(
        "/login",
        data={"email": LA_RAZA, "password": DEMO_PASSWORD, "csrf_token": pre_session.value},
        allow_redirects=False,
    )
    assert reply.cookies[SESSION_COOKIE]["secure"] is True


async def test_dashboard_shows_name_and_center_after_sign_in(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    await login_as(web_client, LA_RAZA)
    html = await (await web_client.get("/dashboard")).text()
    assert "Dr. Jorge Alberto Hernández Cruz" in html
    assert "CMN La Raza" in html


async def test_wrong_password_shows_the_form_again_and_is_audited(
    web_client: TestClient[Any, Any],
) -> None:
    reply = await _post_login(web_client, LA_RAZA, "not-the-password")
    assert reply.status == 401
    assert "El correo electrónico o la contraseña no son correctos." in await reply.text()
    assert SESSION_COOKIE not in reply.cookies
    failures = await audit_actions(web_client, "auth.login_failed")
    assert len(failures) == 1 and failures[0].detail == {"email": LA_RAZA}
    assert (await web_client.get("/dashboard", allow_redirects=False)).status == 303


async def test_sign_in_rotates_the_session(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    await login_as(web_client, LA_RAZA)
    first = cookie(web_client, SESSION_COOKIE)
    await login_as(web_client, "especialista.merida@junta.example")
    second = cookie(web_client, SESSION_COOKIE)
    assert first and second and first != second
    # The old token no longer signs anyone in.
    web_client.session.cookie_jar.clear()
    web_client.session.cookie_jar.update_cookies({SESSION_COOKIE: first})
    assert (await web_client.get("/dashboard", allow_redirects=False)).status == 303


async def test_sign_in_drops_the_pre_session_csrf_cookie(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    await web_client.get("/login")
    assert cookie(web_client, CSRF_COOKIE)
    await login_as(web_client, LA_RAZA)
    assert not cookie(web_client, CSRF_COOKIE)


async def test_sign_out_ends_the_session(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    token = await login_as(web_client, LA_RAZA)
    old = cookie(web_client, SESSION_COOKIE)
    reply = await web_client.post(
        "/logout", data={"csrf_token": token}, allow_redirects=False
    )
    assert reply.status == 303 and reply.headers["Location"] == "/login"
    assert len(await audit_actions(web_client, "auth.logout")) == 1
    assert old
    web_client.session.cookie_jar.clear()
    web_client.session.cookie_jar.update_cookies({SESSION_COOKIE: old})
    assert (await web_client.get("/dashboard", allow_redirects=False)).status == 303


async def test_idle_session_expires(web_client: TestClient[Any, Any], login_as: Login) -> None:
    await login_as(web_client, LA_RAZA)
    async with web_client.app[SESSIONS]() as db:
        await db.execute(
            update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=31))
        )
        await db.commit()
    reply = await web_client.get("/dashboard", allow_redirects=False)
    assert reply.status == 303
    assert reply.headers["Location"].startswith("/login")


async def test_recent_activity_keeps_the_session(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    await login_as(web_client, LA_RAZA)
    async with web_client.app[SESSIONS]() as db:
        await db.execute(
            update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=29))
        )
        await db.commit()
    assert (await web_client.get("/dashboard", allow_redirects=False)).status == 200


async def test_signed_out_page_redirects_to_sign_in_and_back(
    web_client: TestClient[Any, Any],
) -> None:
    reply = await web_client.get("/rooms/interconsulta-lla", allow_redirects=False)
    assert reply.status == 303
    location = URL(reply.headers["Location"])
    assert location.path == "/login"
    assert location.query["next"] == "/rooms/interconsulta-lla"
    page = await web_client.get(reply.headers["Location"])
    assert 'name="next" value="/rooms/interconsulta-lla"' in await page.text()


async def test_next_never_leaves_the_site(web_client: TestClient[Any, Any]) -> None:
    page = await web_client.get("/login")
    token = csrf_from_html(await page.text())
    reply = await web_client.post(
        "/login",
        data={"email": LA_RAZA, "password": DEMO_PASSWORD, "csrf_token": token,
              "next": "//evil.example/"},
        allow_redirects=False,
    )
    assert reply.headers["Location"] == "/dashboard"


async def test_failures_per_account_are_throttled_and_audited(
    web_client: TestClient[Any, Any],
) -> None:
    for _ in range(5):
        assert (await _post_login(web_client, LA_RAZA, "wrong")).status == 401
    reply = await _post_login(web_client, LA_RAZA, DEMO_PASSWORD)
    assert reply.status == 429
    assert int(reply.headers["Retry-After"]) > 0
    assert "Demasiados intentos" in await reply.text()
    throttled = await audit_actions(web_client, "auth.login_throttled")
    assert len(throttled) == 1 and throttled[0].detail == {"email": LA_RAZA}
    # Another account from the same address is still allowed.
    other = await _post_login(web_client, "especialista.merida@junta.example", DEMO_PASSWORD)
    assert other.status == 303


async def test_failures_per_address_are_throttled(web_client_factory: ClientFactory) -> None:
    client = await web_client_factory(login_max_failures_per_address=3)
    for n in range(3):
        reply = await _post_login(client, f"nadie{n}@junta.example", "wrong")
        assert reply.status == 401
    reply = await _post_login(client, LA_RAZA, DEMO_PASSWORD)
    assert reply.status == 429
    assert len(await audit_actions(client, "auth.login_throttled")) == 1


async def test_the_throttled_page_says_how_long_to_wait(web_client: TestClient[Any, Any]) -> None:
    for _ in range(5):
        await _post_login(web_client, LA_RAZA, "wrong")
    reply = await _post_login(web_client, LA_RAZA, "wrong")
    assert reply.status == 429
    body = await reply.text()
    # The window is five minutes: what is left of it, in words.
    assert re.search(r"Intente de nuevo en (5 minutos|4 minutos \d+ segundos?)\.", body), body
    assert "unos minutos" not in body


async def test_a_stale_cookie_is_refused_by_a_listing_and_dropped_by_a_page(
    web_client: TestClient[Any, Any],
) -> None:
    web_client.session.cookie_jar.update_cookies({"junta_session": "no-such-session"})
    assert (await web_client.get("/api/cases")).status == 401
    page = await web_client.get("/login")
    assert page.status == 200
    dropped = page.cookies["junta_session"]
    assert dropped.value == "" and dropped["max-age"] == "0"
