"""The case services on real SQLite and PostgreSQL: workflow paths and their audit trail, the
queue's SQL order, the SQL visibility filter, case numbers under concurrency, the file store."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casebook import case_drafts, case_steps, cases, demo, review_sessions, visible_cases
from casebook.access import can_view_case
from casebook.errors import CasebookError
from casebook.models import AgendaItem, AuditEvent, Case, CaseStatus, Notification, RoomKind
from casebook.notifications import OutboxNotifier
from casebook.queue import coordinator_queue
from casebook.storage import FileStore, FileTooLarge, UnsupportedFileType
from casebook.triage import QUEUE_ORDER_BY, QueueItem, Urgency, order_queue
from casebook.workflow import WorkflowError
from tests.casebook.service_helpers import CALLER_IP, audit_trail, callers
from tests.web.api_helpers import DICOM, PDF

NOTIFIER = OutboxNotifier()
FIELDS = {
    "patient_initials": "AB",
    "patient_age_years": 5,
    "patient_sex": "male",
    "diagnosis": "Retinoblastoma bilateral",
    "icd10_code": "C69.2",
}


async def test_rejection_and_withdrawal_paths_write_their_audit_events(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as db:
        who = await callers(db)
        referrer, coordinator = who[demo.REFERRER], who[demo.COORDINATOR]
        rejected = await case_drafts.create_draft(db, referrer, FIELDS)
        view = await cases.find_visible(db, referrer, rejected.code)
        await case_steps.submit(db, referrer, view, NOTIFIER)
        view = await cases.read(db, coordinator, rejected.code)
        await case_steps.request_information(db, coordinator, view, "¿Fondo de ojo?", NOTIFIER)
        await case_steps.reject(db, coordinator, view, "Fuera de la red.", NOTIFIER)

        withdrawn = await case_drafts.create_draft(db, referrer, FIELDS)
        view = await cases.find_visible(db, referrer, withdrawn.code)
        await case_steps.withdraw(db, referrer, view, NOTIFIER)
        await db.commit()

        assert await audit_trail(db, "case", rejected.code) == [
            "case.created",
            "case.submit",
            "case.read",
            "case.request_information",
            "case.reject",
        ]
        assert await audit_trail(db, "case", withdrawn.code) == ["case.created", "case.withdraw"]
        (event,) = (
            await db.scalars(select(AuditEvent).where(AuditEvent.action == "case.reject"))
        ).all()
        assert event.actor_user_id == coordinator.user_id and event.ip == CALLER_IP
        assert event.detail == {"from": "information_requested", "to": "rejected"}
        # Withdrawing a draft tells nobody; rejecting tells the referrer.
        told = (
            await db.execute(
                select(Notification.event, Notification.user_id).where(
                    Notification.case_id.in_([rejected.id, withdrawn.id])
                )
            )
        ).all()
        assert ("case.reject", referrer.user_id) in told
        assert all(event != "case.withdraw" for event, _ in told)
        assert all(user != coordinator.user_id for event, user in told if event == "case.reject")


async def test_unscheduling_puts_the_case_back_and_renumbers_the_agenda(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as db:
        who = await callers(db)
        coordinator, referrer = who[demo.COORDINATOR], who[demo.REFERRER]
        session = await review_sessions.create(
            db,
            coordinator,
            kind=RoomKind.CONSULTATION,
            title="Interconsulta",
            starts_at=datetime.now(UTC) + timedelta(days=1),
            duration_minutes=45,
            chair_user_id=who[demo.SPECIALIST_MERIDA].user_id,
            invitees=[who[demo.SPECIALIST_LA_RAZA].user_id],
            notifier=NOTIFIER,
        )
        codes = []
        for _ in range(3):
            case = await case_drafts.create_draft(db, referrer, FIELDS)
            own = await cases.find_visible(db, referrer, case.code)
            await case_steps.submit(db, referrer, own, NOTIFIER)
            view = await cases.find_visible(db, coordinator, case.code)
            await case_steps.accept(
                db, coordinator, view, urgency=Urgency.ROUTINE, specialty="Oftalmología",
                note=None, notifier=NOTIFIER,
            )
            await review_sessions.schedule(db, coordinator, session, view, NOTIFIER)
            codes.append(case.code)
        chair = who[demo.SPECIALIST_MERIDA]
        await review_sessions.reorder(db, chair, session, list(reversed(codes)))
        view = await cases.find_visible(db, chair, codes[1])
        await review_sessions.unschedule(db, chair, view, NOTIFIER)
        await db.commit()
        agenda = await review_sessions.agenda(db, session.id)
        assert [(item.position, case.code) for item, case in agenda] == [
            (1, codes[2]),
            (2, codes[0]),
        ]
        assert view.case.status == CaseStatus.ACCEPTED.value
        trail = await audit_trail(db, "case", codes[1])
        assert trail[-2:] == ["case.schedule", "case.unschedule"]
        # The session's invitee no longer sees the unscheduled case.
        with pytest.raises(cases.CaseNotFound):
            await cases.find_visible(db, who[demo.SPECIALIST_LA_RAZA], codes[1])
        with pytest.raises(CasebookError) as refused:
            await review_sessions.cancel(db, coordinator, session, NOTIFIER)
        assert refused.value.code == "session_not_empty"


async def test_refusals_come_from_the_workflow(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as db:
        who = await callers(db)
        case = await case_drafts.create_draft(db, who[demo.REFERRER], FIELDS)
        coordinator_view = cases.CaseView(case, await cases.facts_of(db, case))
        with pytest.raises(WorkflowError) as refused:
            await case_steps.accept(
                db, who[demo.COORDINATOR], coordinator_view, urgency=Urgency.URGENT,
                specialty="x", note=None, notifier=NOTIFIER,
            )
        assert refused.value.code == "illegal_transition"
        with pytest.raises(WorkflowError) as refused:
            await case_steps.submit(db, who[demo.SPECIALIST_LA_RAZA], coordinator_view, NOTIFIER)
        assert refused.value.code == "not_allowed"
        with pytest.raises(WorkflowError):
            await case_drafts.create_draft(db, who[demo.ADMIN], FIELDS)


async def test_the_queue_query_orders_exactly_like_triage_order_queue(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    rng = random.Random(7)
    async with sessions() as db:
        who = await callers(db)
        referrer, coordinator = who[demo.REFERRER], who[demo.COORDINATOR]
        for index in range(30):
            case = await case_drafts.create_draft(db, referrer, FIELDS)
            status = rng.choice(
                [CaseStatus.SUBMITTED, CaseStatus.INFORMATION_REQUESTED, CaseStatus.ACCEPTED]
            )
            case.status = status.value
            case.urgency = rng.choice(list(Urgency)).value
            # Ties on purpose: several cases submitted at the same instant.
            case.submitted_at = now - timedelta(hours=rng.choice([1, 30, 30, 200, 400]))
            if index == 0:
                case.submitted_at = now + timedelta(minutes=5)  # clock skew
        await db.flush()
        page = await coordinator_queue(db, coordinator, now, page_size=200)
        queued = (
            await db.scalars(
                select(Case).where(
                    Case.status.in_(["submitted", "information_requested", "accepted"])
                )
            )
        ).all()
        expected = order_queue(
            [QueueItem(c.id, Urgency(c.urgency), c.submitted_at) for c in queued if c.submitted_at],
            now,
        )
        assert [row.case.id for row in page.rows] == [e.item.case_id for e in expected]
        # …and like the reference SQL of `triage.QUEUE_ORDER_BY`, on the text urgency column.
        reference = await db.scalars(
            text(
                "SELECT id FROM cases WHERE status IN ('submitted', 'information_requested', "
                f"'accepted') {QUEUE_ORDER_BY}"
            )
        )
        assert [row.case.id for row in page.rows] == list(reference.all())
        assert [row.entry.overdue for row in page.rows] == [e.overdue for e in expected]
        assert any(e.overdue for e in expected) and not all(e.overdue for e in expected)
        # Paging keeps the same order.
        first = await coordinator_queue(db, coordinator, now, page_size=7)
        second = await coordinator_queue(db, coordinator, now, page=2, page_size=7)
        assert [r.case.id for r in first.rows + second.rows] == [
            e.item.case_id for e in expected[:14]
        ]
        with pytest.raises(WorkflowError):
            await coordinator_queue(db, referrer, now)


async def test_the_sql_visibility_filter_agrees_with_can_view_case(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as db:
        who = await callers(db)
        referrer, coordinator = who[demo.REFERRER], who[demo.COORDINATOR]
        # A withdrawn scheduled case: invitees of its session no longer see it.
        case = await case_drafts.create_draft(db, referrer, FIELDS)
        own = await cases.find_visible(db, referrer, case.code)
        await case_steps.submit(db, referrer, own, NOTIFIER)
        board = await db.scalar(select(AgendaItem.session_id))
        view = await cases.find_visible(db, coordinator, case.code)
        await case_steps.accept(
            db, coordinator, view, urgency=Urgency.URGENT, specialty="Oncología",
            note=None, notifier=NOTIFIER,
        )
        session = await review_sessions.find_visible(db, coordinator, board or 0)
        await review_sessions.schedule(db, coordinator, session, view, NOTIFIER)
        await case_steps.withdraw(db, referrer, await cases.find_visible(db, referrer, case.code),
                             NOTIFIER)
        await db.flush()
        everything = (await db.scalars(select(Case))).all()
        assert len(everything) >= 5
        for caller in who.values():
            listed = await visible_cases.list_cases(db, caller, page_size=100)
            expected = {
                c.code for c in everything
                if can_view_case(caller.person, await cases.facts_of(db, c))
            }
            assert {c.code for c in listed.cases} == expected, caller.role
            assert listed.total == len(expected)
            # By status too: a coordinator's listing of a status past draft tests no visibility
            # per row (`access.sees_every_case_in`), every other one does.
            for status in CaseStatus:
                listed = await visible_cases.list_cases(db, caller, status=status, page_size=100)
                shown = {c.code for c in everything if c.code in expected and c.status == status}
                assert {c.code for c in listed.cases} == shown, (caller.role, status)
                assert listed.total == len(shown)


async def test_schedule_choices_are_the_visible_sessions_from_a_time(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as db:
        who = await callers(db)
        starts = sorted(s.starts_at for s in await review_sessions.visible_sessions(
            db, who[demo.COORDINATOR]
        ))
        assert starts
        # From the first start (it is included), and just after the last (none is).
        for since in (starts[0], starts[-1] + timedelta(seconds=1)):
            for caller in who.values():
                expected = [
                    (s.id, s.title, s.starts_at)
                    for s in await review_sessions.visible_sessions(db, caller, since=since)
                ]
                choices = await review_sessions.schedule_choices(db, caller, since=since)
                assert [tuple(c) for c in choices] == expected, caller.role


async def test_concurrent_drafts_get_distinct_consecutive_numbers(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as db:
        referrer = (await callers(db))[demo.REFERRER]
        before = len((await db.scalars(select(Case.code))).all())

    async def one() -> str:
        async with sessions() as db:
            case = await case_drafts.create_draft(db, referrer, FIELDS)
            await db.commit()
            return case.code

    codes = await asyncio.gather(*(one() for _ in range(8)))
    numbers = sorted(int(code.rsplit("-", 1)[1]) for code in codes)
    assert numbers == list(range(before + 1, before + 9))


async def test_an_upload_that_fails_midway_leaves_nothing(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "store", max_bytes=1000)

    async def stream(*chunks: bytes, fail: bool = False) -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk
        if fail:
            raise ConnectionResetError("client went away")

    stored = await store.receive(stream(DICOM[:64], DICOM[64:]))
    assert store.path_of(stored.sha256).read_bytes() == DICOM
    again = await store.receive(stream(DICOM))
    assert again == stored
    with pytest.raises(ConnectionResetError):
        await store.receive(stream(PDF, fail=True))
    with pytest.raises(FileTooLarge):
        await store.receive(stream(PDF, b"\x00" * 1000))
    with pytest.raises(UnsupportedFileType):
        await store.receive(stream(b"hello"))
    files = [p for p in (tmp_path / "store").rglob("*") if p.is_file()]
    assert files == [store.path_of(stored.sha256)]


async def test_demo_cases_are_consistent_with_the_access_rules(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as db:
        statuses = {
            c.diagnosis: c.status for c in (await db.scalars(select(Case))).all()
        }
        assert statuses == {row[0]: row[9].value for row in demo.CASES}
        for case in (await db.scalars(select(Case))).all():
            await cases.facts_of(db, case)  # raises on contradictory facts
        await db.execute(update(Case).values(updated_at=datetime.now(UTC)))


async def test_schedule_choices_are_the_sessions_from_then_on_not_cancelled_in_time_order(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime.now(UTC).replace(microsecond=123456)
    async with sessions() as db:
        who = await callers(db)
        coordinator = who[demo.COORDINATOR]
        planned = []
        for hours, title in ((5, 'Sesión "académica" de la red & más'), (-30, "Pasada"),
                             (2, "Cancelada"), (5, "Misma hora, segunda")):
            planned.append(await review_sessions.create(
                db, coordinator, kind=RoomKind.LECTURE, title=title,
                starts_at=now + timedelta(hours=hours), duration_minutes=60,
                chair_user_id=coordinator.user_id, invitees=[], notifier=NOTIFIER,
            ))
        await review_sessions.cancel(db, coordinator, planned[2], NOTIFIER)
        await db.commit()
        found = await review_sessions.schedule_choices(
            db, coordinator, since=now - timedelta(hours=12)
        )
        assert all(c.starts_at.tzinfo is not None for c in found)
        assert found == sorted(found, key=lambda c: (c.starts_at, c.id))
        titles = [c.title for c in found]
        assert titles.count('Sesión "académica" de la red & más') == 1
        assert "Misma hora, segunda" in titles
        assert "Cancelada" not in titles and "Pasada" not in titles
