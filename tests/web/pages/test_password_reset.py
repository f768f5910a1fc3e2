"""Self-service password reset through the real pages and a real SMTP server: the mailed link
works once, for 30 minutes, still asks for the second factor, ends every other session, and the
request never tells whether an address has an account."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from casebook import accounts, demo, two_factor
from casebook.clock import utcnow
from casebook.models import Notification
from casebook.outbox import dispatch_pending
from casebook.password_reset import RESET_EVENT
from tests.casebook.mail_server import SmtpServer
from tests.conftest import ClientFactory, csrf_from_html
from tests.live import test_box
from tests.web.helpers import audit_actions
from web.app.factory import mail_renderer
from web.app.keys import I18N, SESSIONS, SETTINGS
from web.http.auth import SESSION_COOKIE

Login = Any
MERIDA = "especialista.merida@junta.example"
NOBODY = "nadie@junta.example"
NEW_PASSWORD = "otra-clave-nueva"


async def _quiet_outbox(client: TestClient[Any, Any]) -> None:
    """What the demo left in the outbox is not these tests' business."""
    async with client.app[SESSIONS]() as db:
        await db.execute(update(Notification).values(sent_at=utcnow()))
        await db.commit()


async def _ask(client: TestClient[Any, Any], email: str) -> Any:
    form = await client.get("/password-reset")
    assert form.status == 200
    csrf = csrf_from_html(await form.text())
    return await client.post(
        "/password-reset", data={"csrf_token": csrf, "email": email}, allow_redirects=False
    )


async def _mailed_path(
    client: TestClient[Any, Any], smtp_server: SmtpServer, email: str, age: timedelta
) -> str:
    """Send the outbox (its reset row made `age` ago) and return the mailed link's path."""
    async with client.app[SESSIONS]() as db:
        await db.execute(
            update(Notification)
            .where(Notification.event == RESET_EVENT, Notification.sent_at.is_(None))
            .values(created_at=utcnow() - age)
        )
        await db.commit()
    render = mail_renderer(client.app[SETTINGS], client.app[I18N])
    report = await dispatch_pending(client.app[SESSIONS], smtp_server.mailer(), render, utcnow())
    assert report.sent == 1, report
    mail = smtp_server.inbox.to(email)[-1]
    assert "contraseña" in str(mail["Subject"])
    body = mail.get_body(("plain",))
    assert body is not None
    [link] = re.findall(r"https?://\S+/password-reset/\S+", body.get_content())
    return "/password-reset/" + link.split("/password-reset/")[1]


async def _set(client: TestClient[Any, Any], path: str, password: str = NEW_PASSWORD) -> Any:
    form = await client.get(path)
    assert form.status == 200, await form.text()
    csrf = csrf_from_html(await form.text())
    return await client.post(
        path, data={"csrf_token": csrf, "password": password, "password_again": password},
        allow_redirects=False,
    )


async def test_the_sign_in_page_links_to_the_reset(web_client: TestClient[Any, Any]) -> None:
    html = await (await web_client.get("/login")).text()
    assert 'href="/password-reset"' in html and "¿Olvidó su contraseña?" in html


async def test_a_mailed_link_works_once_and_ends_every_other_session(
    web_client: TestClient[Any, Any],
    web_client_factory: ClientFactory,
    login_as: Login,
    smtp_server: SmtpServer,
) -> None:
    await _quiet_outbox(web_client)
    phone = await web_client_factory()
    await login_as(phone, MERIDA)
    asked = await _ask(web_client, MERIDA)
    assert asked.status == 200
    path = await _mailed_path(web_client, smtp_server, MERIDA, timedelta(minutes=1))

    done = await _set(web_client, path)
    assert done.status == 303 and done.headers["Location"] == "/dashboard"
    assert done.cookies[SESSION_COOKIE].value
    assert (await web_client.get("/dashboard", allow_redirects=False)).status == 200
    # The session signed in before the reset is over; the old password no longer works.
    assert (await phone.get("/dashboard", allow_redirects=False)).status == 303
    phone.session.cookie_jar.clear()
    login_page = await phone.get("/login")
    old = await phone.post(
        "/login",
        data={"csrf_token": csrf_from_html(await login_page.text()), "email": MERIDA,
              "password": demo.DEMO_PASSWORD},
        allow_redirects=False,
    )
    assert old.status == 401
    await login_as(phone, MERIDA, NEW_PASSWORD)
    [event] = await audit_actions(web_client, "auth.password_reset")
    assert event.detail == {"sessions_ended": 1}
    assert len(await audit_actions(web_client, "auth.password_reset_requested")) == 1

    # Used once: the password changed, so the link's signature no longer matches.
    web_client.session.cookie_jar.clear()
    again = await web_client.get(path)
    assert again.status == 404 and "Este enlace no es válido" in await again.text()


async def test_a_link_expires_after_thirty_minutes(
    web_client: TestClient[Any, Any], smtp_server: SmtpServer
) -> None:
    await _quiet_outbox(web_client)
    await _ask(web_client, MERIDA)
    stale = await _mailed_path(web_client, smtp_server, MERIDA, timedelta(minutes=31))
    assert (await web_client.get(stale)).status == 404
    await _ask(web_client, MERIDA)
    fresh = await _mailed_path(web_client, smtp_server, MERIDA, timedelta(minutes=29))
    assert (await web_client.get(fresh)).status == 200


async def test_a_reset_still_asks_for_the_second_factor(
    web_client: TestClient[Any, Any], smtp_server: SmtpServer
) -> None:
    await _quiet_outbox(web_client)
    async with web_client.app[SESSIONS]() as db:
        user = await accounts.find_user_by_email(db, MERIDA)
        assert user is not None
        await two_factor.enroll_with_secret(db, user, demo.DEMO_TOTP_SECRET, test_box())
        await db.commit()
    await _ask(web_client, MERIDA)
    path = await _mailed_path(web_client, smtp_server, MERIDA, timedelta(minutes=1))
    done = await _set(web_client, path)
    assert done.status == 303 and done.headers["Location"] == "/login/two-factor"
    assert SESSION_COOKIE not in done.cookies
    assert (await web_client.get("/dashboard", allow_redirects=False)).status == 303


async def test_the_answer_never_tells_whether_an_address_has_an_account(
    web_client: TestClient[Any, Any], smtp_server: SmtpServer
) -> None:
    await _quiet_outbox(web_client)
    known = await _ask(web_client, MERIDA)
    unknown = await _ask(web_client, NOBODY)
    assert known.status == unknown.status == 200
    known_html = await known.text()
    assert "Si alguna cuenta usa esta dirección" in known_html
    strip = re.compile(r'(csrf-token" content|name="csrf_token" value)="[^"]*"')
    assert strip.sub("", known_html) == strip.sub("", await unknown.text())
    # Only the real account's mail is queued, to be sent later by the outbox.
    async with web_client.app[SESSIONS]() as db:
        rows = (await db.scalars(
            select(Notification).where(Notification.event == RESET_EVENT)
        )).all()
    assert len(rows) == 1 and not smtp_server.inbox.to(MERIDA)
    assert len(await audit_actions(web_client, "auth.password_reset_requested")) == 2


async def test_requests_are_throttled_per_address(web_client: TestClient[Any, Any]) -> None:
    limit = web_client.app[SETTINGS].login_max_failures_per_account
    for _ in range(limit):
        assert (await _ask(web_client, NOBODY)).status == 200
    assert (await _ask(web_client, NOBODY)).status == 429
