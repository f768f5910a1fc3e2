"""The outbox dispatcher against a real SMTP server (aiosmtpd) and real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from casebook import demo
from casebook.db import create_engine, session_factory
from casebook.models import Case, Notification, User
from casebook.outbox import LEASE, DispatchReport, Renderer, dispatch_pending, retry_delay
from tests.casebook.mail_server import SENDER, SmtpServer

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)


def gettext_for(locale: str) -> Any:
    return lambda message: message  # the msgids: English


RENDER = Renderer(gettext_for=gettext_for, sender=SENDER, public_url="https://junta.example")


async def _clear_outbox(sessions: Any) -> None:
    """The demo's own notifications are not these tests' business: mark them sent."""
    async with sessions() as db, db.begin():
        for row in (await db.scalars(select(Notification))).all():
            row.sent_at = NOW - timedelta(days=1)


async def _notify(
    sessions: Any, emails: list[str], event: str = "case.submit", *, clear: bool = True
) -> list[int]:
    """Outbox rows for `event` on a demo submitted case, one per person."""
    if clear:
        await _clear_outbox(sessions)
    async with sessions() as db, db.begin():
        case_id = await db.scalar(select(Case.id).where(Case.diagnosis == demo.CASES[0][0]))
        rows = []
        for address in emails:
            user = await db.scalar(select(User).where(User.email == address))
            assert user is not None
            rows.append(Notification(user_id=user.id, event=event, case_id=case_id))
        db.add_all(rows)
        await db.flush()
        return [r.id for r in rows]


async def _rows(sessions: Any, ids: list[int]) -> list[Notification]:
    async with sessions() as db:
        found = await db.scalars(
            select(Notification).where(Notification.id.in_(ids)).order_by(Notification.id)
        )
        return list(found.all())


PEOPLE = [demo.COORDINATOR, demo.SPECIALIST_LA_RAZA, demo.SPECIALIST_MERIDA, demo.ADMIN]


async def test_pending_notifications_are_sent_once(
    sessions: Any, smtp_server: SmtpServer
) -> None:
    ids = await _notify(sessions, PEOPLE)
    report = await dispatch_pending(sessions, smtp_server.mailer(), RENDER, NOW)
    assert (report.claimed, report.sent, report.failed) == (4, 4, 0)
    assert sorted(str(m["To"].addresses[0].addr_spec) for m in smtp_server.inbox.messages()) == (
        sorted(PEOPLE)
    )
    [first, *_] = smtp_server.inbox.to(demo.COORDINATOR)
    assert first["Subject"].startswith("New case JC-")
    rows = await _rows(sessions, ids)
    assert all(r.sent_at is not None and r.claimed_until is None for r in rows)
    again = await dispatch_pending(sessions, smtp_server.mailer(), RENDER, NOW + LEASE * 2)
    assert again == DispatchReport()
    assert len(smtp_server.inbox.received) == 4


async def test_smtp_down_rows_stay_unsent_and_go_out_when_it_is_back(
    sessions: Any, smtp_server: SmtpServer
) -> None:
    ids = await _notify(sessions, PEOPLE)
    smtp_server.stop()
    report = await dispatch_pending(sessions, smtp_server.mailer(), RENDER, NOW)
    # The first try fails temporarily; the rest of the batch is released untried.
    assert (report.claimed, report.sent, report.deferred, report.released) == (4, 0, 1, 3)
    rows = await _rows(sessions, ids)
    assert all(r.sent_at is None and r.failed_at is None and r.claimed_until is None for r in rows)
    assert rows[0].attempts == 1 and rows[0].error_code == "mail_temporary_failure"
    assert rows[0].next_attempt_at == NOW + retry_delay(1)

    smtp_server.start()
    soon = await dispatch_pending(sessions, smtp_server.mailer(), RENDER, NOW)
    assert soon.sent == 3  # the first waits for its backoff
    later = await dispatch_pending(sessions, smtp_server.mailer(), RENDER, NOW + retry_delay(1))
    assert later.sent == 1
    assert len(smtp_server.inbox.received) == 4
    assert all(r.sent_at is not None for r in await _rows(sessions, ids))


async def test_a_permanent_refusal_marks_the_row_failed_and_the_others_still_go(
    sessions: Any, smtp_server: SmtpServer
) -> None:
    ids = await _notify(sessions, PEOPLE)
    smtp_server.inbox.refuse.add(demo.SPECIALIST_LA_RAZA)
    report = await dispatch_pending(sessions, smtp_server.mailer(), RENDER, NOW)
    assert (report.sent, report.failed) == (3, 1)
    rows = {r.id: r for r in await _rows(sessions, ids)}
    refused = rows[ids[1]]
    assert refused.sent_at is None and refused.failed_at == NOW
    assert refused.error_code == "mail_permanent_failure" and "550" in (refused.last_error or "")
    assert report.failures == {ids[1]: "mail_permanent_failure"}
    # Failed rows are not retried.
    later = await dispatch_pending(sessions, smtp_server.mailer(), RENDER, NOW + LEASE)
    assert later.claimed == 0


async def test_a_notification_that_cannot_be_worded_is_marked_failed(
    sessions: Any, smtp_server: SmtpServer
) -> None:
    # A cancelled session's notice names no session (the row is gone): nothing to word.
    [cancelled] = await _notify(sessions, [demo.COORDINATOR], event="session.cancelled")
    await _notify(sessions, [demo.ADMIN], clear=False)
    report = await dispatch_pending(sessions, smtp_server.mailer(), RENDER, NOW)
    assert report.failures == {cancelled: "subject_gone"} and report.sent == 1


async def test_two_dispatchers_at_once_send_each_notification_once(
    demo_database_url: str, smtp_server: SmtpServer
) -> None:
    engines = [create_engine(demo_database_url) for _ in range(2)]
    try:
        first, second = (session_factory(e) for e in engines)
        people = PEOPLE * 5
        ids = await _notify(first, people)

        async def drain(sessions: Any) -> int:
            sent = 0
            while True:
                report = await dispatch_pending(
                    sessions, smtp_server.mailer(), RENDER, NOW, batch=3
                )
                sent += report.sent
                if not report.claimed:
                    return sent

        counts = await asyncio.gather(drain(first), drain(second))
        assert sum(counts) == len(ids)
        assert len(smtp_server.inbox.received) == len(ids)
        assert all(r.sent_at is not None for r in await _rows(first, ids))
    finally:
        for engine in engines:
            await engine.dispose()
