"""Draining the outbox: the `Notification` rows services wrote become e-mail, sent once.

`dispatch_pending` is one pass: it *claims* a batch of due rows (a lease in `claimed_until`, so
several processes can drain one database: `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, a
compare-and-set `UPDATE` per row on SQLite, whose writers are serialized), words each one for its
recipient (`casebook.messages` over `casebook.snapshots`, in the recipient's language), composes
and sends it, and records the outcome in its own short transaction:

- delivered → `sent_at` (set only after `Mailer.send` returned);
- permanent failure (a 5xx, a refused recipient, a row that can no longer be worded, e.g. its
  session was deleted) → `failed_at` with `error_code` and `last_error`; the pass goes on;
- temporary failure (server down, 4xx) → `attempts` + 1 and `next_attempt_at` (exponential
  backoff); the rest of the batch is released untried (the server is likely down for them too)
  and the next pass retries. After `MAX_ATTEMPTS` the row is marked failed
  (`mail_retries_exhausted`).

A dispatcher that dies mid-send leaves its claims to expire after `LEASE`; a message whose send
succeeded but whose `sent_at` was not recorded may then go out twice (at-least-once delivery).
`run_forever` is the background loop the web app starts when SMTP is configured.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from email.headerregistry import Address
from typing import Any, cast, get_args

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casebook.clock import utcnow
from casebook.errors import CasebookError
from casebook.invitations import DEFAULT_LIFETIME as DEFAULT_INVITE_LIFETIME
from casebook.invitations import INVITE_EVENT, invitation_message
from casebook.mailer import MailDeliveryError, Mailer, compose
from casebook.messages import (
    GettextFor,
    Message,
    Recipient,
    SessionEvent,
    audience_of,
    case_message,
    session_message,
)
from casebook.models import Case, Notification, ReviewSession, User
from casebook.nota_pdf import Nota, render_nota
from casebook.password_reset import RESET_EVENT, reset_message
from casebook.review_sessions import invitee_ids
from casebook.snapshots import case_documents, clinician, session_summary
from casebook.summaries import SessionSummary
from casebook.workflow import CaseAction

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)  # how long a claim keeps other dispatchers off a row
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=1)
MAX_ATTEMPTS = 12  # temporary failures before a row is given up (≈ 9 h of backoff)
_SESSION_EVENTS: frozenset[str] = frozenset(get_args(SessionEvent))


@dataclass(frozen=True)
class Renderer:
    """What wording a notification needs besides the database: languages, sender, links.

    `gettext_for(locale)` comes from the web layer (the casebook does not import it);
    `public_url` is the address people reach Junta at, for links in mail.
    """

    gettext_for: GettextFor
    sender: Address
    public_url: str
    locales: tuple[str, ...] = ("es_MX", "en")
    default_locale: str = "es_MX"
    timezone: tzinfo | None = None
    case_path: str = "/dashboard"  # where a case's link points (the web app: its case page)
    # The invitation link of a user invited at a moment (`casebook.invitations`); it is signed
    # with the web app's secret, so the web layer provides it. None: invitations are unsendable.
    invite_url: Callable[[User, datetime], str] | None = None
    invite_lifetime: timedelta = DEFAULT_INVITE_LIFETIME
    # The password reset link of a user who asked at a moment (`casebook.password_reset`).
    reset_url: Callable[[User, datetime], str] | None = None

    def case_url(self, case: Case) -> str:
        """The link a case message carries."""
        return self.public_url.rstrip("/") + self.case_path.format(id=case.id, code=case.code)

    def locale_of(self, user: User) -> str:
        """The language `user` reads: their preference if Junta has it, else the default."""
        return user.locale if user.locale in self.locales else self.default_locale


@dataclass
class DispatchReport:
    """What one pass did; `failures` maps notification id → error code."""

    claimed: int = 0
    sent: int = 0
    failed: int = 0  # permanently: marked failed
    deferred: int = 0  # temporarily: retried on a later pass
    released: int = 0  # claimed but left untried after a temporary failure
    failures: dict[int, str] = field(default_factory=dict)


class _Unrenderable(CasebookError):
    """The row cannot be worded (its case or session is gone, its recipient has no address)."""


SessionMaker = async_sessionmaker[AsyncSession]


async def dispatch_pending(
    sessionmaker: SessionMaker,
    mailer: Mailer,
    render: Renderer,
    now: datetime,
    batch: int = 50,
) -> DispatchReport:
    """Claim up to `batch` due notifications, send them, record each outcome; one pass."""
    report = DispatchReport()
    ids = await _claim(sessionmaker, now, batch)
    report.claimed = len(ids)
    cache: dict[tuple[Any, ...], Any] = {}
    for index, notification_id in enumerate(ids):
        try:
            async with sessionmaker() as db:
                message = await _message(db, notification_id, render, now, cache)
            if message is None:  # sent or gone meanwhile
                continue
            email = compose(message, sender=render.sender, now=now)
            await mailer.send(email)
        except MailDeliveryError as error:
            if error.permanent:
                await _fail(sessionmaker, notification_id, now, error.code, error.message)
                report.failed += 1
                report.failures[notification_id] = error.code
                continue
            gave_up = await _defer(sessionmaker, notification_id, now, error)
            report.failures[notification_id] = "mail_retries_exhausted" if gave_up else error.code
            if gave_up:
                report.failed += 1
            else:
                report.deferred += 1
            rest = ids[index + 1 :]
            await _release(sessionmaker, rest)
            report.released = len(rest)
            log.warning(
                "outbox.deferred id=%d released=%d error=%s", notification_id, len(rest), error
            )
            break
        except (CasebookError, ValueError, LookupError) as error:
            code = error.code if isinstance(error, CasebookError) else "render_failed"
            await _fail(sessionmaker, notification_id, now, code, str(error))
            report.failed += 1
            report.failures[notification_id] = code
            log.warning("outbox.unrenderable id=%d code=%s error=%s", notification_id, code, error)
        else:
            await _mark_sent(sessionmaker, notification_id, now)
            report.sent += 1
    if report.claimed:
        log.info(
            "outbox.pass claimed=%d sent=%d failed=%d deferred=%d released=%d",
            report.claimed, report.sent, report.failed, report.deferred, report.released,
        )
    return report


async def run_forever(
    sessionmaker: SessionMaker,
    mailer: Mailer,
    render: Renderer,
    *,
    interval: float,
    batch: int = 50,
    clock: Callable[[], datetime] = utcnow,
) -> None:
    """Drain the outbox every `interval` seconds until cancelled; errors are logged, not fatal."""
    while True:
        try:
            while True:
                report = await dispatch_pending(sessionmaker, mailer, render, clock(), batch)
                # A full batch that all went out: more may be waiting.
                if report.claimed < batch or report.sent < report.claimed:
                    break
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("outbox.pass_failed")
        await asyncio.sleep(interval)


# ---------------------------------------------------------------- claiming and recording


def _due(now: datetime) -> tuple[Any, ...]:
    return (
        Notification.sent_at.is_(None),
        Notification.failed_at.is_(None),
        or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now),
        or_(Notification.claimed_until.is_(None), Notification.claimed_until <= now),
    )


async def _claim(sessionmaker: SessionMaker, now: datetime, batch: int) -> list[int]:
    lease = now + LEASE
    query = select(Notification.id).where(*_due(now)).order_by(Notification.id).limit(batch)
    async with sessionmaker() as db, db.begin():
        if db.get_bind().dialect.name == "postgresql":
            # Rows another dispatcher holds are skipped, not waited for.
            ids = list((await db.scalars(query.with_for_update(skip_locked=True))).all())
            if ids:
                await db.execute(
                    update(Notification)
                    .where(Notification.id.in_(ids))
                    .values(claimed_until=lease)
                    .execution_options(synchronize_session=False)
                )
            return ids
        # SQLite serializes writers: a row is ours if our conditional UPDATE changed it.
        claimed: list[int] = []
        for notification_id in (await db.scalars(query)).all():
            result = await db.execute(
                update(Notification)
                .where(Notification.id == notification_id, *_due(now))
                .values(claimed_until=lease)
                .execution_options(synchronize_session=False)
            )
            if cast(CursorResult[Any], result).rowcount == 1:
                claimed.append(notification_id)
        return claimed


async def _record(sessionmaker: SessionMaker, ids: Sequence[int], **values: Any) -> None:
    if not ids:
        return
    async with sessionmaker() as db, db.begin():
        await db.execute(
            update(Notification)
            .where(Notification.id.in_(ids), Notification.sent_at.is_(None))
            .values(claimed_until=None, **values)
            .execution_options(synchronize_session=False)
        )


async def _mark_sent(sessionmaker: SessionMaker, notification_id: int, now: datetime) -> None:
    await _record(
        sessionmaker, [notification_id], sent_at=now, attempts=Notification.attempts + 1,
        next_attempt_at=None, error_code=None, last_error=None,
    )


async def _fail(
    sessionmaker: SessionMaker, notification_id: int, now: datetime, code: str, detail: str
) -> None:
    await _record(
        sessionmaker, [notification_id], failed_at=now, error_code=code[:64],
        last_error=detail[:2000], attempts=Notification.attempts + 1,
    )


async def _defer(
    sessionmaker: SessionMaker, notification_id: int, now: datetime, error: MailDeliveryError
) -> bool:
    """Count a temporary failure and schedule the retry; True if the row was given up."""
    async with sessionmaker() as db:
        attempts = await db.scalar(
            select(Notification.attempts).where(Notification.id == notification_id)
        )
    attempts = (attempts or 0) + 1
    if attempts >= MAX_ATTEMPTS:
        await _record(
            sessionmaker, [notification_id], attempts=attempts, failed_at=now,
            error_code="mail_retries_exhausted", last_error=error.message[:2000],
        )
        return True
    await _record(
        sessionmaker, [notification_id], attempts=attempts,
        next_attempt_at=now + retry_delay(attempts), error_code=error.code,
        last_error=error.message[:2000],
    )
    return False


async def _release(sessionmaker: SessionMaker, ids: Sequence[int]) -> None:
    await _record(sessionmaker, ids)


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th temporary failure: 1 min, 2, 4, … up to 1 h."""
    return min(FIRST_RETRY * 2 ** (attempts - 1), MAX_RETRY)


# ---------------------------------------------------------------- wording a row


async def _message(
    db: AsyncSession,
    notification_id: int,
    render: Renderer,
    now: datetime,
    cache: dict[tuple[Any, ...], Any],
) -> Message | None:
    notification = await db.get(Notification, notification_id)
    if notification is None or notification.sent_at is not None:
        return None
    user = await db.get(User, notification.user_id)
    if user is None or not user.active:
        raise _Unrenderable("recipient_inactive", "the recipient's account is not active")
    if not user.email:
        raise _Unrenderable("recipient_without_email", "the recipient has no e-mail address")
    locale = render.locale_of(user)
    recipient = Recipient(user.display_name, user.email, locale, user.id)
    gettext = render.gettext_for(locale)
    event = notification.event
    if event in _SESSION_EVENTS:
        session = await _session(db, notification.session_id, render, cache)
        if session is None:
            raise _Unrenderable("subject_gone", f"the review session of {event} is gone")
        summary, attendees = session
        return session_message(
            cast(SessionEvent, event), summary, recipient, attendees,
            session_url=summary.room_url, gettext=gettext, now=now, timezone=render.timezone,
        )
    if event == INVITE_EVENT:
        if render.invite_url is None:
            raise _Unrenderable("no_invite_links", "this sender cannot sign invitation links")
        link = render.invite_url(user, notification.created_at)
        return invitation_message(recipient, link, render.invite_lifetime, gettext)
    if event == RESET_EVENT:
        if render.reset_url is None:
            raise _Unrenderable("no_reset_links", "this sender cannot sign password reset links")
        return reset_message(recipient, render.reset_url(user, notification.created_at), gettext)
    if not event.startswith("case."):
        raise _Unrenderable("unknown_event", f"no message for the event {event!r}")
    action = CaseAction(event.removeprefix("case."))
    case = await db.get(Case, notification.case_id) if notification.case_id else None
    if case is None:
        raise _Unrenderable("subject_gone", f"the case of {event} is gone")
    key = ("case", case.id)
    if key not in cache:
        cache[key] = await case_documents(db, case, render.public_url)
    documents = cache[key]
    found = await _session(db, notification.session_id, render, cache)
    session_now = found[0] if found else None
    nota_pdf = None
    if action is CaseAction.ISSUE_RECOMMENDATION:
        if documents.recommendation is None or documents.session is None:
            raise _Unrenderable("subject_gone", "the case has no issued recommendation")
        nota_key = ("nota", case.id, locale)
        if nota_key not in cache:
            nota = Nota(
                case=documents.case,
                session=documents.session,
                recommendation=documents.recommendation,
                issuing_center=documents.recommendation.chair.center,
            )
            cache[nota_key] = await asyncio.to_thread(
                render_nota, nota, locale, gettext, timezone=render.timezone
            )
        nota_pdf = cache[nota_key]
    return case_message(
        action,
        audience_of(user.id, documents.case, session_now),
        recipient,
        case=documents.case,
        case_url=render.case_url(case),
        gettext=gettext,
        now=now,
        session=session_now,
        nota_pdf=nota_pdf,
        timezone=render.timezone,
    )


async def _session(
    db: AsyncSession, session_id: int | None, render: Renderer, cache: dict[tuple[Any, ...], Any]
) -> tuple[SessionSummary, list[tuple[str, str]]] | None:
    """A session's picture and everyone it invites (chair first), or None if it is gone."""
    if session_id is None:
        return None
    key = ("session", session_id)
    if key not in cache:
        session = await db.get(ReviewSession, session_id)
        if session is None:
            cache[key] = None
        else:
            summary = await session_summary(db, session, render.public_url)
            attendees = [(summary.chair.name, summary.chair.email)]
            for user_id in await invitee_ids(db, session_id):
                if user_id == session.chair_user_id:
                    continue
                user = await db.get(User, user_id)
                if user is not None and user.email:
                    person = await clinician(db, user)
                    attendees.append((person.name, person.email))
            cache[key] = (summary, attendees)
    return cast(tuple[SessionSummary, list[tuple[str, str]]] | None, cache[key])
