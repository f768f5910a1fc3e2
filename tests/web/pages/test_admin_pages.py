"""Administration pages: centers, people (role, center, deactivation) and invitations by e-mail
whose link sets a password once, delivered through the outbox to a real SMTP server."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from casebook import accounts, demo, lockout
from casebook.clock import utcnow
from casebook.invitations import INVITE_EVENT, invite_token
from casebook.models import Case, Center, Notification, User
from casebook.outbox import dispatch_pending
from tests.casebook.mail_server import SmtpServer
from tests.conftest import ClientFactory, csrf_from_html
from tests.web.helpers import audit_actions
from web.app.factory import mail_renderer
from web.app.keys import I18N, SESSIONS, SETTINGS
from web.http.auth import SESSION_COOKIE

Login = Any
NEW_PERSON = "dra.nueva@junta.example"


async def _user(client: TestClient[Any, Any], email: str) -> User:
    async with client.app[SESSIONS]() as db:
        user = await accounts.find_user_by_email(db, email)
    assert user is not None
    return user


async def _post(client: TestClient[Any, Any], url: str, csrf: str, **data: str) -> Any:
    return await client.post(url, data={"csrf_token": csrf, **data}, allow_redirects=False)


async def test_admins_add_and_change_centers(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    csrf = await login_as(web_client, demo.ADMIN)
    fields = {"name": "Hospital Infantil de Tamaulipas", "state": "Tamaulipas",
              "kind": "general_hospital", "clues": "tsssa001234"}
    reply = await _post(web_client, "/admin/centers/new", csrf, **fields)
    assert reply.status == 303
    async with web_client.app[SESSIONS]() as db:
        center = await db.scalar(select(Center).where(Center.name == fields["name"]))
    assert center is not None and center.clues == "TSSSA001234"
    html = await (await web_client.get("/admin/centers")).text()
    assert "Hospital Infantil de Tamaulipas" in html and "Hospital general" in html

    taken = await _post(web_client, "/admin/centers/new", csrf, **fields)
    assert taken.status == 400
    assert "Otro centro tiene este nombre." in await taken.text()
    changed = {**fields, "state": "Tamaulipas (Cd. Victoria)"}
    assert (await _post(web_client, f"/admin/centers/{center.id}", csrf, **changed)).status == 303
    assert len(await audit_actions(web_client, "admin.center_created")) == 1
    assert len(await audit_actions(web_client, "admin.center_updated")) == 1
    assert (await web_client.get("/admin/centers/999999")).status == 404


async def test_an_invitation_mail_sets_a_password_once(
    web_client: TestClient[Any, Any], login_as: Login, smtp_server: SmtpServer
) -> None:
    client = web_client
    async with client.app[SESSIONS]() as db:
        # What the demo left in the outbox is not this test's business.
        await db.execute(update(Notification).values(sent_at=utcnow()))
        await db.commit()
    csrf = await login_as(client, demo.ADMIN)
    siglo = (await _user(client, demo.ADMIN)).center_id
    reply = await _post(
        client, "/admin/users/new", csrf, email=NEW_PERSON, name="Dra. Ana Nueva Ruiz",
        role="specialist", center=str(siglo),
    )
    assert reply.status == 303
    invited = await _user(client, NEW_PERSON)
    assert not accounts.has_password(invited)
    [event] = await audit_actions(client, "admin.user_invited")
    assert event.target_id == invited.id

    render = mail_renderer(client.app[SETTINGS], client.app[I18N])
    report = await dispatch_pending(client.app[SESSIONS], smtp_server.mailer(), render, utcnow())
    assert report.sent == 1, report
    [mail] = smtp_server.inbox.to(NEW_PERSON)
    assert "Tiene una invitación a Junta" in str(mail["Subject"])
    body = mail.get_body(("plain",))
    assert body is not None
    [link] = re.findall(r"https?://\S+/invitation/\S+", body.get_content())
    path = "/invitation/" + link.split("/invitation/")[1]

    client.session.cookie_jar.clear()
    form = await client.get(path)
    assert form.status == 200 and NEW_PERSON in await form.text()
    token = csrf_from_html(await form.text())
    mismatch = await _post(client, path, token, password="una-clave-larga", password_again="otra")
    assert mismatch.status == 400
    weak = await _post(client, path, token, password="corta", password_again="corta")
    assert weak.status == 400
    done = await _post(
        client, path, token, password="una-clave-larga", password_again="una-clave-larga"
    )
    assert done.status == 303 and done.headers["Location"] == "/dashboard"
    assert done.cookies[SESSION_COOKIE].value
    assert (await client.get("/dashboard", allow_redirects=False)).status == 200
    assert len(await audit_actions(client, "auth.invitation_accepted")) == 1
    # The link worked once: the password changed, so its signature no longer matches.
    assert (await client.get(path)).status == 404


async def test_an_expired_or_tampered_invitation_is_refused(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    csrf = await login_as(web_client, demo.ADMIN)
    siglo = (await _user(web_client, demo.ADMIN)).center_id
    await _post(
        web_client, "/admin/users/new", csrf, email=NEW_PERSON, name="Dra. Ana Nueva Ruiz",
        role="referrer", center=str(siglo),
    )
    user = await _user(web_client, NEW_PERSON)
    secret = web_client.app[SETTINGS].secret_key
    old = invite_token(secret, user, utcnow() - timedelta(hours=73), timedelta(hours=72))
    live = invite_token(secret, user, utcnow(), timedelta(hours=72))
    assert (await web_client.get(f"/invitation/{old}")).status == 404
    assert (await web_client.get(f"/invitation/{live[:-2]}xx")).status == 404
    assert (await web_client.get(f"/invitation/{live}")).status == 200
    # A new invitation replaces the earlier links.
    await _post(web_client, f"/admin/users/{user.id}/invitation", csrf)
    assert (await web_client.get(f"/invitation/{live}")).status == 404
    async with web_client.app[SESSIONS]() as db:
        sent = await db.scalars(select(Notification).where(Notification.event == INVITE_EVENT))
        assert len(sent.all()) == 2


async def test_deactivation_ends_sessions_at_once_and_keeps_records(
    web_client: TestClient[Any, Any], web_client_factory: ClientFactory, login_as: Login
) -> None:
    referrer = await web_client_factory()
    await login_as(referrer, demo.REFERRER)
    csrf = await login_as(web_client, demo.ADMIN)
    target = await _user(web_client, demo.REFERRER)

    reply = await _post(web_client, f"/admin/users/{target.id}/deactivate", csrf)
    assert reply.status == 303
    assert (await referrer.get("/dashboard", allow_redirects=False)).status == 303
    [event] = await audit_actions(web_client, "admin.user_deactivated")
    assert event.detail == {"sessions": 1}
    async with web_client.app[SESSIONS]() as db:
        cases = await db.scalars(select(Case).where(Case.referrer_user_id == target.id))
        assert len(cases.all()) >= 1
    html = await (await web_client.get("/admin/users")).text()
    assert "Desactivada" in html

    assert (await _post(web_client, f"/admin/users/{target.id}/reactivate", csrf)).status == 303
    await login_as(referrer, demo.REFERRER)

    me = await _user(web_client, demo.ADMIN)
    refused = await _post(web_client, f"/admin/users/{me.id}/deactivate", csrf)
    assert refused.status == 400


async def test_admins_change_role_and_center_and_it_is_audited(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    csrf = await login_as(web_client, demo.ADMIN)
    target = await _user(web_client, demo.TRAINEE)
    async with web_client.app[SESSIONS]() as db:
        la_raza = await db.scalar(select(Center).where(Center.name == demo.LA_RAZA))
    assert la_raza is not None
    reply = await _post(
        web_client, f"/admin/users/{target.id}", csrf, name="Dr. Residente Promovido",
        role="specialist", center=str(la_raza.id),
    )
    assert reply.status == 303
    changed = await _user(web_client, demo.TRAINEE)
    assert (changed.role, changed.center_id) == ("specialist", la_raza.id)
    [event] = await audit_actions(web_client, "admin.user_updated")
    assert event.detail["before"]["role"] == "trainee"
    assert event.detail["after"] == {"role": "specialist", "center_id": la_raza.id}
    bad = await _post(
        web_client, f"/admin/users/{target.id}", csrf, name="X", role="emperor",
        center=str(la_raza.id),
    )
    assert bad.status == 400
    assert (await web_client.get("/admin/users/not-a-user")).status == 404


async def test_admins_see_and_lift_a_sign_in_lock(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    csrf = await login_as(web_client, demo.ADMIN)
    target = await _user(web_client, demo.LECTURER)
    async with web_client.app[SESSIONS]() as db:
        policy = lockout.LockoutPolicy(threshold=1)
        await lockout.record_failure(db, demo.LECTURER, "203.0.113.1", policy)
        await db.commit()
    html = await (await web_client.get("/admin/users")).text()
    [row] = re.findall(rf'<tr data-user="{re.escape(demo.LECTURER)}">.*?</tr>', html, re.S)
    assert "Bloqueada" in row
    assert (await _post(web_client, f"/admin/users/{target.id}/unlock", csrf)).status == 303
    html = await (await web_client.get("/admin/users")).text()
    [row] = re.findall(rf'<tr data-user="{re.escape(demo.LECTURER)}">.*?</tr>', html, re.S)
    assert "Bloqueada" not in row
    assert len(await audit_actions(web_client, "admin.user_unlocked")) == 1
