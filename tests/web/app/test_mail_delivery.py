"""Mail end to end: actions through the API → outbox rows → the dispatcher → a real SMTP server
(aiosmtpd on 127.0.0.1), in each recipient's language, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from casebook import demo
from casebook.clock import utcnow
from casebook.models import Notification, User
from casebook.outbox import DispatchReport, dispatch_pending
from tests.casebook.mail_server import SmtpServer
from tests.conftest import ClientFactory
from tests.web.api_helpers import (
    ACCEPTED,
    NEW_CASE,
    Login,
    begin_session,
    demo_case,
    sign_in,
    user_id,
)
from web.app.factory import mail_renderer
from web.app.keys import I18N, SESSIONS, SETTINGS
from web.app.settings import Settings, SettingsError


async def _set_locale(client: TestClient[Any, Any], email: str, locale: str) -> None:
    async with client.app[SESSIONS]() as db, db.begin():
        await db.execute(update(User).where(User.email == email).values(locale=locale))


async def _settle(client: TestClient[Any, Any]) -> None:
    """What the demo itself left in the outbox is not these tests' business."""
    async with client.app[SESSIONS]() as db, db.begin():
        await db.execute(
            update(Notification)
            .where(Notification.sent_at.is_(None))
            .values(sent_at=utcnow() - timedelta(days=1))
        )


async def _dispatch(client: TestClient[Any, Any], smtp: SmtpServer) -> DispatchReport:
    render = mail_renderer(client.app[SETTINGS], client.app[I18N])
    return await dispatch_pending(client.app[SESSIONS], smtp.mailer(), render, utcnow())


def _calendar(message: EmailMessage) -> str:
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    content = part.get_content()
    return content.decode() if isinstance(content, bytes) else str(content)


async def test_a_submitted_case_mails_the_coordinators_in_their_language(
    web_client: TestClient[Any, Any], login_as: Login, smtp_server: SmtpServer
) -> None:
    client = web_client
    await _settle(client)
    await _set_locale(client, demo.COORDINATOR, "en")
    referrer = await sign_in(client, login_as, demo.REFERRER)
    code = (await referrer.ok("POST", "/api/cases", NEW_CASE, status=201))["code"]
    await referrer.ok("POST", f"/api/cases/{code}/submit")

    report = await _dispatch(client, smtp_server)
    assert report.failed == 0 and report.sent >= 1
    [mail] = smtp_server.inbox.to(demo.COORDINATOR)
    assert mail["Subject"] == f"New case {code} submitted for review"
    assert mail["Content-Language"] == "en"
    body = mail.get_body(("plain",))
    assert body is not None and "awaits triage" in body.get_content()
    # E-mail is not a clinical channel: the code, never the diagnosis or the question.
    assert "Rabdomiosarcoma" not in mail.as_string()
    assert smtp_server.inbox.to(demo.REFERRER) == []  # the actor is not told
    assert (await _dispatch(client, smtp_server)).claimed == 0


async def test_scheduling_sends_calendar_invitations_and_the_nota_reaches_the_referrer(
    web_client: TestClient[Any, Any], login_as: Login, smtp_server: SmtpServer
) -> None:
    client = web_client
    await _settle(client)
    code = await demo_case(client, ACCEPTED)
    coordinator = await sign_in(client, login_as, demo.COORDINATOR)
    chair = await user_id(client, demo.SPECIALIST_LA_RAZA)
    merida = await user_id(client, demo.SPECIALIST_MERIDA)
    starts = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    session = await coordinator.ok(
        "POST",
        "/api/sessions",
        {
            "kind": "consultation",
            "title": "Interconsulta de neuroblastoma",
            "starts_at": starts.isoformat(),
            "duration_minutes": 60,
            "chair_user_id": chair,
            "invitees": [merida],
        },
        status=201,
    )
    sid = session["id"]
    await coordinator.ok("POST", f"/api/sessions/{sid}/agenda", {"case": code}, 201)
    assert (await _dispatch(client, smtp_server)).failed == 0

    # The session's invitees: an invitation (REQUEST) with the session's stable UID, in Spanish.
    [invitation] = [
        m for m in smtp_server.inbox.to(demo.SPECIALIST_MERIDA) if "Invitación" in m["Subject"]
    ]
    calendar = _calendar(invitation)
    assert "METHOD:REQUEST" in calendar and f"UID:session-{sid}@junta" in calendar
    # The referrer: their own calendar entry for presenting the case, with its own UID.
    [scheduled] = smtp_server.inbox.to(demo.REFERRER)
    assert code in scheduled["Subject"]
    slot = _calendar(scheduled)
    assert "METHOD:REQUEST" in slot and f"UID:session-{sid}-case-{code}@junta" in slot

    # Moving the session re-invites with the same UID and a higher SEQUENCE.
    later = (starts + timedelta(hours=1)).isoformat()
    await coordinator.ok("PATCH", f"/api/sessions/{sid}", {"starts_at": later})
    before = len(smtp_server.inbox.received)
    await _dispatch(client, smtp_server)
    [updated] = smtp_server.inbox.to(demo.SPECIALIST_MERIDA)[-1:]
    assert len(smtp_server.inbox.received) > before
    moved = _calendar(updated)
    assert f"UID:session-{sid}@junta" in moved and "SEQUENCE:1" in moved

    specialist = await sign_in(client, login_as, demo.SPECIALIST_LA_RAZA)
    await begin_session(client.app, sid)
    await specialist.ok("POST", f"/api/sessions/{sid}/agenda/{code}/discussed")
    await specialist.ok(
        "POST",
        f"/api/cases/{code}/recommendation",
        {
            "diagnostic_criteria": "Neuroblastoma estadio M, MYCN amplificado",
            "suggested_studies": "MIBG\nMédula ósea",
            "treatment_suggestions": "Inducción según protocolo",
            "signatories": [merida],
        },
        status=201,
    )
    assert (await _dispatch(client, smtp_server)).failed == 0
    [nota_mail] = [
        m for m in smtp_server.inbox.to(demo.REFERRER) if "Recomendación" in m["Subject"]
    ]
    [pdf] = [p for p in nota_mail.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == f"Nota de interconsulta {code}.pdf"
    assert pdf.get_content().startswith(b"%PDF-")


async def test_the_app_sends_in_the_background_when_smtp_is_configured(
    web_client_factory: ClientFactory, login_as: Login, smtp_server: SmtpServer
) -> None:
    client = await web_client_factory(
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_starttls=False,  # the test server speaks in clear (test_mailer covers TLS)
        mail_from="Junta <junta@red.example>",
        public_url="https://junta.example",
        outbox_interval=0.1,
    )
    referrer = await sign_in(client, login_as, demo.REFERRER)
    code = (await referrer.ok("POST", "/api/cases", NEW_CASE, status=201))["code"]
    await referrer.ok("POST", f"/api/cases/{code}/submit")
    for _ in range(100):
        if any(code in str(m["Subject"]) for m in smtp_server.inbox.to(demo.COORDINATOR)):
            break
        await asyncio.sleep(0.1)
    [mail] = [m for m in smtp_server.inbox.to(demo.COORDINATOR) if code in str(m["Subject"])]
    assert mail["From"].addresses[0].addr_spec == "junta@red.example"
    assert f"https://junta.example/cases/{code}" in mail.as_string()
    async with client.app[SESSIONS]() as db:
        pending = await db.scalars(select(Notification).where(Notification.sent_at.is_(None)))
        assert [n.event for n in pending.all() if n.case_id is not None and n.failed_at] == []


async def test_without_smtp_the_outbox_accumulates_and_startup_says_so(
    web_client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    assert web_client.app[SETTINGS].smtp_host is None
    [line] = [r.getMessage() for r in caplog.get_records("setup") if "mail.disabled" in r.msg]
    assert "accumulate in the outbox" in line


def test_mail_settings_from_the_environment() -> None:
    base = {"JUNTA_SECRET_KEY": "x" * 32}
    default = Settings.from_env(base)
    assert (default.smtp_host, default.smtp_port, default.smtp_starttls) == (None, 25, True)
    assert not default.smtp_implicit_tls
    implicit = Settings.from_env({**base, "JUNTA_SMTP_PORT": "465"})
    assert implicit.smtp_implicit_tls
    settings = Settings.from_env(
        {
            **base,
            "JUNTA_SMTP_HOST": "smtp.red.example",
            "JUNTA_SMTP_PORT": "587",
            "JUNTA_SMTP_STARTTLS": "true",
            "JUNTA_SMTP_USERNAME": "junta",
            "JUNTA_SMTP_PASSWORD": "s3cret",
            "JUNTA_MAIL_FROM": "Red de Oncología <junta@red.example>",
            "JUNTA_PUBLIC_URL": "https://junta.red.example",
            "JUNTA_OUTBOX_INTERVAL": "10",
        }
    )
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls) == (
        "smtp.red.example", 587, True,
    )
    assert settings.outbox_interval == 10
    for broken in (
        {"JUNTA_SMTP_HOST": "smtp.red.example", "JUNTA_PUBLIC_URL": "https://j.example"},
        {"JUNTA_SMTP_HOST": "smtp.red.example", "JUNTA_MAIL_FROM": "junta@red.example"},
        {"JUNTA_SMTP_USERNAME": "junta"},
        {"JUNTA_PUBLIC_URL": "junta.example"},
    ):
        with pytest.raises(SettingsError):
            Settings.from_env({**base, **broken})
