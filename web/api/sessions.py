"""The review sessions API: plan sessions (with their call room), their invitees and agenda,
schedule and unschedule cases, mark them discussed, and read attendance and decisions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from aiohttp import web
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import audit, cases, review_sessions
from casebook.access import can_view_case
from casebook.cases import Caller
from casebook.models import CaseStatus, ReviewSession, RoomKind
from web.api.case_schemas import case_code
from web.app.keys import NOTIFIER
from web.http.routes import (
    CLINICAL,
    CLINICAL_READERS,
    COORDINATORS,
    Route,
    Text,
    caller,
    int_param,
    json_reply,
    parse_body,
    transaction,
)

_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _plausible(value: datetime) -> datetime:
    value = value.astimezone(UTC)
    if not _EARLIEST <= value < _LATEST:
        raise ValueError("must be between 2000 and 2100")
    return value


When = Annotated[AwareDatetime, AfterValidator(_plausible)]
Title = Annotated[Text, Field(min_length=1, max_length=200)]
UserId = Annotated[Text, Field(min_length=1, max_length=64)]
Minutes = Annotated[int, Field(ge=5, le=720)]
CaseCode = Annotated[Text, Field(max_length=20)]


class SessionIn(BaseModel):
    """A review session to plan: its call room is created with it."""

    model_config = ConfigDict(extra="forbid")
    kind: RoomKind
    title: Title
    starts_at: When
    duration_minutes: Minutes
    chair_user_id: UserId
    invitees: list[UserId] = Field(default_factory=list, max_length=200)


class SessionEditIn(BaseModel):
    """Changes to a session: only the fields given change."""

    model_config = ConfigDict(extra="forbid")
    title: Title | None = None
    starts_at: When | None = None
    duration_minutes: Minutes | None = None
    invitees: list[UserId] | None = Field(None, max_length=200)
    decisions: Annotated[Text, Field(max_length=50_000)] | None = None


class ScheduleIn(BaseModel):
    """The case to put at the end of the agenda."""

    model_config = ConfigDict(extra="forbid")
    case: CaseCode


class AgendaOrderIn(BaseModel):
    """Every case of the agenda, in the order to discuss them."""

    model_config = ConfigDict(extra="forbid")
    cases: list[CaseCode] = Field(max_length=200)


class AgendaItemOut(BaseModel):
    """A case on the agenda."""

    position: int
    case_code: str
    status: CaseStatus
    diagnosis: str | None  # None: a case the caller may not see (e.g. withdrawn)


class AttendanceOut(BaseModel):
    """One stay in the session's call."""

    user_id: str
    joined_at: datetime
    left_at: datetime | None


class SessionOut(BaseModel):
    """A review session."""

    id: int
    kind: RoomKind
    title: str
    starts_at: datetime
    duration_minutes: int
    chair_user_id: str
    room_id: str
    room_url: str
    sequence: int
    invitees: list[str]
    agenda: list[AgendaItemOut]
    attendance: list[AttendanceOut]
    decisions: str | None


class SessionListOut(BaseModel):
    """The sessions the caller takes part in (coordinators: all)."""

    sessions: list[SessionOut]


async def session_out(db: AsyncSession, who: Caller, session: ReviewSession) -> SessionOut:
    """A session as the caller sees it: agenda rows of cases they may not see show no content."""
    agenda = []
    for item, case in await review_sessions.agenda(db, session.id):
        visible = can_view_case(who.person, await cases.facts_of(db, case))
        agenda.append(
            AgendaItemOut(
                position=item.position,
                case_code=case.code,
                status=CaseStatus(case.status),
                diagnosis=case.diagnosis if visible else None,
            )
        )
    return SessionOut(
        id=session.id,
        kind=RoomKind(session.kind),
        title=session.title,
        starts_at=session.starts_at,
        duration_minutes=session.duration_minutes,
        chair_user_id=session.chair_user_id,
        room_id=session.room_id,
        room_url=f"/rooms/{session.room_id}",
        sequence=session.sequence,
        invitees=await review_sessions.invitee_ids(db, session.id),
        agenda=agenda,
        attendance=[
            AttendanceOut(user_id=a.user_id, joined_at=a.joined_at, left_at=a.left_at)
            for a in await review_sessions.attendance(db, session.id)
        ],
        decisions=session.decisions,
    )


async def create_session(request: web.Request) -> web.StreamResponse:
    """Plan a review session and its call room."""
    who = caller(request)
    body = await parse_body(request, SessionIn)
    async with transaction(request) as db:
        session = await review_sessions.create(
            db,
            who,
            kind=body.kind,
            title=body.title,
            starts_at=body.starts_at,
            duration_minutes=body.duration_minutes,
            chair_user_id=body.chair_user_id,
            invitees=body.invitees,
            notifier=request.app[NOTIFIER],
        )
        reply = await session_out(db, who, session)
    return json_reply(reply, status=201)


async def list_sessions(request: web.Request) -> web.StreamResponse:
    """The sessions the caller takes part in."""
    who = caller(request)
    async with transaction(request) as db:
        found = await review_sessions.visible_sessions(db, who)
        reply = SessionListOut(sessions=[await session_out(db, who, s) for s in found])
        # Agendas name cases and diagnoses: listing them is a read like any other.
        await audit.record(
            db,
            "session.list",
            actor_user_id=who.user_id,
            target_type="session",
            ip=who.ip,
            detail={"sessions": [s.id for s in found]},
        )
    return json_reply(reply)


async def get_session(request: web.Request) -> web.StreamResponse:
    """One session, with agenda, invitees and attendance."""
    who = caller(request)
    session_id = int_param(request, "session_id")
    async with transaction(request) as db:
        session = await review_sessions.read(db, who, session_id)
        reply = await session_out(db, who, session)
    return json_reply(reply)


async def edit_session(request: web.Request) -> web.StreamResponse:
    """Change a session (coordinators, or its chair)."""
    who = caller(request)
    session_id = int_param(request, "session_id")
    async with transaction(request) as db:
        session = await review_sessions.find_visible(db, who, session_id)
        body = await parse_body(request, SessionEditIn)
        await review_sessions.update_session(
            db, who, session, body.model_dump(exclude_none=True), request.app[NOTIFIER]
        )
        reply = await session_out(db, who, session)
    return json_reply(reply)


async def cancel_session(request: web.Request) -> web.StreamResponse:
    """Cancel a session whose agenda is empty, with its call room."""
    who = caller(request)
    session_id = int_param(request, "session_id")
    async with transaction(request) as db:
        session = await review_sessions.find_visible(db, who, session_id)
        await review_sessions.cancel(db, who, session, request.app[NOTIFIER])
    return web.Response(status=204)


async def schedule_case(request: web.Request) -> web.StreamResponse:
    """Put an accepted case at the end of the agenda."""
    who = caller(request)
    session_id = int_param(request, "session_id")
    async with transaction(request) as db:
        session = await review_sessions.find_visible(db, who, session_id)
        body = await parse_body(request, ScheduleIn)
        view = await cases.find_visible(db, who, body.case)
        await review_sessions.schedule(db, who, session, view, request.app[NOTIFIER])
        reply = await session_out(db, who, session)
    return json_reply(reply, status=201)


async def order_agenda(request: web.Request) -> web.StreamResponse:
    """Reorder the agenda."""
    who = caller(request)
    session_id = int_param(request, "session_id")
    async with transaction(request) as db:
        session = await review_sessions.find_visible(db, who, session_id)
        body = await parse_body(request, AgendaOrderIn)
        await review_sessions.reorder(db, who, session, body.cases)
        reply = await session_out(db, who, session)
    return json_reply(reply)


async def _agenda_case(
    request: web.Request, db: AsyncSession, who: Caller
) -> tuple[ReviewSession, cases.CaseView]:
    session = await review_sessions.find_visible(db, who, int_param(request, "session_id"))
    view = await cases.find_visible(db, who, case_code(request))
    current = view.current_session()
    if current is None or current.session_id != str(session.id):
        raise cases.CaseNotFound()
    return session, view


async def unschedule_case(request: web.Request) -> web.StreamResponse:
    """Take a case off the agenda (it waits to be scheduled again)."""
    who = caller(request)
    async with transaction(request) as db:
        session, view = await _agenda_case(request, db, who)
        await review_sessions.unschedule(db, who, view, request.app[NOTIFIER])
        reply = await session_out(db, who, session)
    return json_reply(reply)


async def mark_discussed(request: web.Request) -> web.StreamResponse:
    """Record that the session discussed the case."""
    who = caller(request)
    async with transaction(request) as db:
        session, view = await _agenda_case(request, db, who)
        await review_sessions.mark_discussed(db, who, view, request.app[NOTIFIER])
        reply = await session_out(db, who, session)
    return json_reply(reply)


SESSION = r"/api/sessions/{session_id:\d+}"


def routes() -> list[Route]:
    """The review sessions API."""
    return [
        Route(
            "POST", "/api/sessions", create_session, name="api-sessions-create",
            summary="Plan a review session",
            description=(
                "A junta médica (consultation, board, lecture) with its own call room: the chair "
                "moderates it, invitees are invited to it and notified."
            ),
            roles=COORDINATORS, body=SessionIn, response=SessionOut, status=201, tag="sessions",
        ),
        Route(
            "GET", "/api/sessions", list_sessions, name="api-sessions-list",
            summary="List review sessions",
            description="The sessions the caller chairs or is invited to (coordinators: all).",
            roles=CLINICAL_READERS, response=SessionListOut, tag="sessions",
        ),
        Route(
            "GET", SESSION, get_session, name="api-session",
            summary="Get a review session",
            description="Its time, chair, invitees, ordered agenda, attendance and decisions.",
            roles=CLINICAL_READERS, response=SessionOut, tag="sessions",
        ),
        Route(
            "PATCH", SESSION, edit_session, name="api-session-edit",
            summary="Change a review session",
            description=(
                "Title, time, duration, invitees or the record of decisions; by a coordinator "
                "or the chair. A new time bumps the calendar sequence."
            ),
            roles=CLINICAL, body=SessionEditIn, response=SessionOut, tag="sessions",
        ),
        Route(
            "DELETE", SESSION, cancel_session, name="api-session-cancel",
            summary="Cancel a review session",
            description="Only with an empty agenda; its call room goes with it.",
            roles=COORDINATORS, status=204, tag="sessions",
        ),
        Route(
            "POST", f"{SESSION}/agenda", schedule_case, name="api-session-schedule",
            summary="Schedule a case",
            description="Put an accepted case at the end of the agenda (`schedule`).",
            roles=COORDINATORS, body=ScheduleIn, response=SessionOut, status=201,
            tag="sessions",
        ),
        Route(
            "PUT", f"{SESSION}/agenda", order_agenda, name="api-session-agenda-order",
            summary="Order the agenda",
            description="List every case of the agenda once, in the order to discuss them.",
            roles=CLINICAL, body=AgendaOrderIn, response=SessionOut, tag="sessions",
        ),
        Route(
            "DELETE", SESSION + "/agenda/{code}", unschedule_case,
            name="api-session-unschedule",
            summary="Unschedule a case",
            description="Take the case off the agenda (`unschedule`): it waits to be scheduled.",
            roles=CLINICAL, response=SessionOut, tag="sessions",
        ),
        Route(
            "POST", SESSION + "/agenda/{code}/discussed", mark_discussed,
            name="api-session-discussed",
            summary="Mark a case discussed",
            description=(
                "The session discussed the case (`mark_discussed`); its chair now owes the "
                "recommendation."
            ),
            roles=CLINICAL, response=SessionOut, tag="sessions",
        ),
    ]


__all__ = ["routes"]
