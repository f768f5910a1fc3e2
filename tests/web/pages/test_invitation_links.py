"""Invitation links through the real pages: they work once, never for an account that has a
password, and never stand in for the second factor."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from casebook import accounts, demo, two_factor
from casebook.clock import utcnow
from casebook.invitations import invite_token
from casebook.models import Center, User
from tests.conftest import csrf_from_html
from tests.live import test_box
from web.app.keys import PASSWORDS, SESSIONS, SETTINGS
from web.http.auth import SESSION_COOKIE

NEW_PERSON = "dr.invitado@junta.example"
PASSWORD = "una-clave-larga"


async def _invite(client: TestClient[Any, Any], email: str = NEW_PERSON) -> User:
    async with client.app[SESSIONS]() as db:
        center = await db.scalar(select(Center).order_by(Center.id).limit(1))
        assert center is not None
        user = await accounts.create_user(
            db, client.app[PASSWORDS], email=email, display_name="Dr. Invitado",
            role="specialist", center=center, password=None,
        )
        await db.commit()
    return user


async def _stored(client: TestClient[Any, Any], email: str) -> User:
    async with client.app[SESSIONS]() as db:
        user = await accounts.find_user_by_email(db, email)
    assert user is not None
    return user


def _link(client: TestClient[Any, Any], user: User) -> str:
    token = invite_token(client.app[SETTINGS].secret_key, user, utcnow(), timedelta(hours=72))
    return f"/invitation/{token}"


async def _accept(client: TestClient[Any, Any], path: str, password: str = PASSWORD) -> Any:
    form = await client.get(path)
    csrf = csrf_from_html(await form.text())
    return await client.post(
        path, data={"csrf_token": csrf, "password": password, "password_again": password},
        allow_redirects=False,
    )


async def test_a_used_invitation_is_refused_with_a_clear_message(
    web_client: TestClient[Any, Any],
) -> None:
    path = _link(web_client, await _invite(web_client))
    done = await _accept(web_client, path)
    assert done.status == 303 and done.headers["Location"] == "/dashboard"
    web_client.session.cookie_jar.clear()
    again = await web_client.get(path)
    assert again.status == 404
    assert "Esta invitación ya se usó" in await again.text()
    # A link that was never valid still gets the general answer.
    other = await web_client.get("/invitation/nobody.123.xyz")
    assert other.status == 404 and "Esta invitación ya se usó" not in await other.text()


async def test_an_invitation_is_refused_once_a_password_exists(
    web_client: TestClient[Any, Any],
) -> None:
    # Signed over the hash of a real password, as a mail re-sent from the outbox would be.
    user = await _stored(web_client, demo.REFERRER)
    path = _link(web_client, user)
    page = await web_client.get(path)
    assert page.status == 404
    assert "Esta invitación ya se usó" in await page.text()
    csrf = csrf_from_html(await page.text())
    taken = await web_client.post(
        path, data={"csrf_token": csrf, "password": PASSWORD, "password_again": PASSWORD},
        allow_redirects=False,
    )
    assert taken.status == 404 and SESSION_COOKIE not in taken.cookies
    assert (await _stored(web_client, demo.REFERRER)).password_hash == user.password_hash


async def test_accepting_an_invitation_still_asks_for_the_second_factor(
    web_client: TestClient[Any, Any],
) -> None:
    user = await _invite(web_client)
    async with web_client.app[SESSIONS]() as db:
        stored = await db.get(User, user.id)
        assert stored is not None
        await two_factor.enroll_with_secret(db, stored, demo.DEMO_TOTP_SECRET, test_box())
        await db.commit()
    done = await _accept(web_client, _link(web_client, user))
    assert done.status == 303 and done.headers["Location"] == "/login/two-factor"
    assert SESSION_COOKIE not in done.cookies
    assert (await web_client.get("/dashboard", allow_redirects=False)).status == 303
    # The password is set all the same: the link is spent, the code step is what remains.
    assert accounts.has_password(await _stored(web_client, NEW_PERSON))
