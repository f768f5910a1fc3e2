"""Review sessions (juntas médicas): their call room, invitees, agenda of cases and attendance.

Coordinators plan sessions; a session's chair (and coordinators) runs its agenda. Creating a
session creates its call `Room`: the chair is its moderator, invitees are invited to it. Putting
a case on the agenda and taking it off are workflow transitions (`schedule`, `unschedule`), as is
marking it discussed. Everyone but coordinators sees only the sessions they take part in.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import bindparam, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import audit, case_steps
from casebook.access import AgendaSession, actor_for
from casebook.cases import Caller, CaseView
from casebook.clock import as_utc, utcnow
from casebook.errors import CasebookError
from casebook.models import (
    AgendaItem,
    Attendance,
    Case,
    CaseStatus,
    ReviewSession,
    Role,
    Room,
    RoomInvite,
    RoomKind,
    SessionCancellation,
    SessionInvitee,
    User,
)
from casebook.notifications import Notice, Notifier, recipients
from casebook.workflow import CLINICAL_ROLES, CaseAction, WorkflowError, transition

# Who can chair: clinical roles other than the referrer (they bring cases, not run boards).
CHAIR_ROLES = frozenset({Role.COORDINATOR, Role.SPECIALIST, Role.LECTURER})


class SessionNotFound(CasebookError):
    """No such session, or one the caller does not take part in."""

    def __init__(self) -> None:
        super().__init__("not_found", "no such review session")


class SessionError(CasebookError):
    """A session change that does not fit (unknown invitee, agenda mismatch, not empty)."""


def participants(session: ReviewSession, invitee_ids: Iterable[str]) -> frozenset[str]:
    """Everyone taking part: the chair and the invitees."""
    return frozenset({session.chair_user_id, *invitee_ids})


async def invitee_ids(db: AsyncSession, session_id: int) -> list[str]:
    """The invitees of a session (not counting the chair unless invited explicitly)."""
    query = select(SessionInvitee.user_id).where(SessionInvitee.session_id == session_id)
    return sorted((await db.scalars(query)).all())


async def agenda_session(db: AsyncSession, session: ReviewSession) -> AgendaSession:
    """The access rules' view of the session."""
    return AgendaSession(
        str(session.id), session.chair_user_id, frozenset(await invitee_ids(db, session.id))
    )


def _may_run(caller: Caller, session: ReviewSession) -> bool:
    return caller.role is Role.COORDINATOR or (
        caller.role in CLINICAL_ROLES and caller.user_id == session.chair_user_id
    )


def _require_coordinator(caller: Caller, what: str) -> None:
    if caller.role is not Role.COORDINATOR:
        raise WorkflowError("not_allowed", f"Only coordinators {what}.")


async def _users(db: AsyncSession, user_ids: Iterable[str]) -> dict[str, User]:
    wanted = set(user_ids)
    if not wanted:
        return {}
    found = (await db.scalars(select(User).where(User.id.in_(wanted)))).all()
    users = {u.id: u for u in found if u.active and u.role != Role.ADMIN.value}
    missing = wanted - set(users)
    if missing:
        raise SessionError("unknown_user", f"{len(missing)} invited user(s) cannot take part")
    return users


async def _record(
    db: AsyncSession, caller: Caller, action: str, session: ReviewSession, **detail: Any
) -> None:
    await audit.record(
        db,
        action,
        actor_user_id=caller.user_id,
        target_type="session",
        target_id=str(session.id),
        ip=caller.ip,
        detail=detail,
    )


async def create(
    db: AsyncSession,
    caller: Caller,
    *,
    kind: RoomKind,
    title: str,
    starts_at: datetime,
    duration_minutes: int,
    chair_user_id: str,
    invitees: Sequence[str],
    notifier: Notifier,
) -> ReviewSession:
    """Plan a session and its call room; invitations go out through the notifier."""
    _require_coordinator(caller, "plan review sessions")
    users = await _users(db, [chair_user_id, *invitees])
    if Role(users[chair_user_id].role) not in CHAIR_ROLES:
        raise SessionError(
            "invalid_chair", "the chair must be a coordinator, specialist or lecturer"
        )
    room = Room(
        id=f"junta-{secrets.token_hex(5)}",
        title=title,
        kind=kind.value,
        requires_admission=kind is RoomKind.BOARD,
    )
    db.add(room)
    await db.flush()  # the room first: nothing tells the unit of work the session needs it
    session = ReviewSession(
        kind=kind.value,
        title=title,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        chair_user_id=chair_user_id,
        room_id=room.id,
        created_by_user_id=caller.user_id,
    )
    db.add(session)
    await db.flush()
    await _set_invitees(db, session, set(invitees))
    await _record(db, caller, "session.created", session, room=room.id)
    await notifier.notify(
        db,
        Notice(
            "session.created",
            recipients(participants(session, invitees), caller.user_id),
            session_id=session.id,
        ),
    )
    return session


async def _set_invitees(db: AsyncSession, session: ReviewSession, wanted: set[str]) -> None:
    """Make the session's invitees (and its room's invitations) exactly `wanted` (+ the chair)."""
    current = set(await invitee_ids(db, session.id))
    for user_id in wanted - current:
        db.add(SessionInvitee(session_id=session.id, user_id=user_id))
    if current - wanted:
        await db.execute(
            delete(SessionInvitee).where(
                SessionInvitee.session_id == session.id,
                SessionInvitee.user_id.in_(current - wanted),
            )
        )
    in_room = participants(session, wanted)
    await db.execute(
        delete(RoomInvite).where(
            RoomInvite.room_id == session.room_id, RoomInvite.user_id.not_in(in_room)
        )
    )
    for user_id in in_room:
        invite = await db.get(RoomInvite, (session.room_id, user_id))
        moderator = user_id == session.chair_user_id
        if invite is None:
            db.add(RoomInvite(room_id=session.room_id, user_id=user_id, moderator=moderator))
        elif moderator:
            invite.moderator = True
    await db.flush()


def outside_centers(centers: frozenset[int], added: Iterable[User]) -> list[str]:
    """The ids of the people in `added` whose center is not among `centers` (those of the
    session's chair and invitees), in order."""
    return sorted(user.id for user in added if user.center_id not in centers)


async def _from_new_centers(
    db: AsyncSession, caller: Caller, session: ReviewSession, wanted: Sequence[str]
) -> list[str]:
    """The newly invited people whose center the session does not reach yet.

    Only a coordinator brings a new center into a session (issue 20): a chair who is not one
    may invite people of the centers already taking part, and asks a coordinator for anyone
    else (`invitee_outside_centers`, 403). A coordinator's invitation is that approval.
    """
    users = await _users(db, wanted)  # refuses anyone who cannot take part
    present = {*await invitee_ids(db, session.id), session.chair_user_id}
    centers = frozenset(await db.scalars(select(User.center_id).where(User.id.in_(present))))
    outsiders = outside_centers(centers, [users[u] for u in set(wanted) - present])
    if outsiders and caller.role is not Role.COORDINATOR:
        raise SessionError(
            "invitee_outside_centers",
            f"{len(outsiders)} invited user(s) belong to a center not in the session yet; "
            "a coordinator must invite them",
        )
    return outsiders


def not_cancelled() -> Any:
    """A SQL condition true for sessions that were not cancelled."""
    return ~exists().where(SessionCancellation.session_id == ReviewSession.id)


async def session_of_room(db: AsyncSession, room_id: str) -> ReviewSession | None:
    """The (not cancelled) review session whose call room is `room_id`, if any."""
    return await db.scalar(
        select(ReviewSession).where(ReviewSession.room_id == room_id, not_cancelled())
    )


# No meeting lasts longer (the API allows 720 minutes): how far back a session may have started
# and still end within a period.
LONGEST_MEETING = timedelta(days=1)


async def rooms_ended_between(db: AsyncSession, since: datetime, until: datetime) -> list[str]:
    """The call rooms of the sessions whose meeting ended (start plus duration) in
    (`since`, `until`], or that were cancelled then."""
    started = await db.execute(
        select(ReviewSession.room_id, ReviewSession.starts_at, ReviewSession.duration_minutes)
        .where(
            ReviewSession.starts_at > since - LONGEST_MEETING,
            ReviewSession.starts_at <= until,
        )
    )
    ended = {
        room
        for room, starts, minutes in started
        if since < as_utc(starts) + timedelta(minutes=minutes) <= until
    }
    cancelled = await db.scalars(
        select(ReviewSession.room_id)
        .join(SessionCancellation, SessionCancellation.session_id == ReviewSession.id)
        .where(SessionCancellation.cancelled_at > since, SessionCancellation.cancelled_at <= until)
    )
    return sorted(ended | set(cancelled))


def taking_part(user_id: Any) -> Any:
    """A SQL condition true for the sessions `user_id` (a value or a bound parameter) chairs or
    is invited to."""
    invited = select(SessionInvitee.session_id).where(SessionInvitee.user_id == user_id)
    return or_(ReviewSession.chair_user_id == user_id, ReviewSession.id.in_(invited))


async def visible_sessions(
    db: AsyncSession, caller: Caller, *, since: datetime | None = None
) -> list[ReviewSession]:
    """The sessions the caller takes part in (coordinators: all), by start time."""
    query = (
        select(ReviewSession)
        .where(not_cancelled())
        .order_by(ReviewSession.starts_at, ReviewSession.id)
    )
    if caller.role is Role.ADMIN:
        return []
    if caller.role is not Role.COORDINATOR:
        query = query.where(taking_part(caller.user_id))
    if since is not None:
        query = query.where(ReviewSession.starts_at >= since)
    return list((await db.scalars(query)).all())


class SessionChoice(NamedTuple):
    """A session one may put a case on, as a form lists it."""

    id: int
    title: str
    starts_at: datetime


@lru_cache(maxsize=2)
def _choices_statement(everyone: bool) -> Any:
    """The `schedule_choices` query: built once per shape, three columns rather than whole
    sessions (the coordinators' queue asks it on every load)."""
    query = (
        select(ReviewSession.id, ReviewSession.title, ReviewSession.starts_at)
        .where(not_cancelled(), ReviewSession.starts_at >= bindparam("since"))
        .order_by(ReviewSession.starts_at, ReviewSession.id)
    )
    return query if everyone else query.where(taking_part(bindparam("user_id")))


async def schedule_choices(
    db: AsyncSession, caller: Caller, *, since: datetime
) -> list[SessionChoice]:
    """`visible_sessions` starting from `since`, as (id, title, start) rows."""
    if caller.role is Role.ADMIN:
        return []
    statement = _choices_statement(caller.role is Role.COORDINATOR)
    rows = await db.execute(statement, {"since": since, "user_id": caller.user_id})
    return [SessionChoice._make(row) for row in rows]


async def find_visible(db: AsyncSession, caller: Caller, session_id: int) -> ReviewSession:
    """The session if the caller takes part in it (or coordinates); `SessionNotFound` otherwise."""
    session = await db.get(ReviewSession, session_id)
    if session is None or caller.role is Role.ADMIN:
        raise SessionNotFound()
    if await db.get(SessionCancellation, session_id) is not None:
        raise SessionNotFound()
    if caller.role is Role.COORDINATOR or caller.user_id == session.chair_user_id:
        return session
    if caller.user_id in await invitee_ids(db, session.id):
        return session
    raise SessionNotFound()


async def read(db: AsyncSession, caller: Caller, session_id: int) -> ReviewSession:
    """`find_visible`, audited (`session.read`)."""
    session = await find_visible(db, caller, session_id)
    await _record(db, caller, "session.read", session)
    return session


async def update_session(
    db: AsyncSession,
    caller: Caller,
    session: ReviewSession,
    fields: Mapping[str, Any],
    notifier: Notifier,
) -> ReviewSession:
    """Change title, time, duration, invitees or the record of decisions (coordinator, chair)."""
    if not _may_run(caller, session):
        raise WorkflowError("not_allowed", "Only a coordinator or the chair may change a session.")
    # Checked before anything changes: a refused invitation leaves the session as it was.
    outsiders: list[str] = []
    if "invitees" in fields:
        outsiders = await _from_new_centers(db, caller, session, fields["invitees"])
    moved = False
    for name in ("title", "starts_at", "duration_minutes", "decisions"):
        if name in fields and fields[name] != getattr(session, name):
            setattr(session, name, fields[name])
            moved = moved or name in {"starts_at", "duration_minutes"}
    if "title" in fields:
        room = await db.get(Room, session.room_id)
        if room is not None:
            room.title = fields["title"]
    if "invitees" in fields:
        await _set_invitees(db, session, set(fields["invitees"]))
    if moved:
        session.sequence += 1
    await _record(db, caller, "session.updated", session, fields=sorted(fields))
    if outsiders:
        # A coordinator inviting people from centers not yet in the session is the approval a
        # chair needs for them; the trail says who approved whom.
        await _record(db, caller, "session.outside_invitees_approved", session, users=outsiders)
    if moved or "invitees" in fields:
        people = participants(session, await invitee_ids(db, session.id))
        await notifier.notify(
            db,
            Notice("session.updated", recipients(people, caller.user_id), session_id=session.id),
        )
    return session


async def cancel(
    db: AsyncSession, caller: Caller, session: ReviewSession, notifier: Notifier
) -> None:
    """Cancel a session with an empty agenda (coordinators): its call room closes, everyone
    invited is sent a CANCEL. The row stays, marked cancelled, for that mail and the record."""
    _require_coordinator(caller, "cancel review sessions")
    count = await db.scalar(
        select(func.count()).select_from(AgendaItem).where(AgendaItem.session_id == session.id)
    )
    if count:
        raise SessionError("session_not_empty", "unschedule the session's cases first")
    people = participants(session, await invitee_ids(db, session.id))
    await _record(db, caller, "session.cancelled", session, room=session.room_id)
    db.add(SessionCancellation(session_id=session.id, cancelled_by_user_id=caller.user_id))
    # A calendar CANCEL carries a higher SEQUENCE than the invitation it withdraws.
    session.sequence += 1
    # Nobody can join the room any more (rooms admit only people with an invitation).
    await db.execute(delete(RoomInvite).where(RoomInvite.room_id == session.room_id))
    await notifier.notify(
        db,
        Notice(
            "session.cancelled", recipients(people, caller.user_id), session_id=session.id
        ),
    )
    await db.flush()


# ---------------------------------------------------------------- the agenda


async def agenda(db: AsyncSession, session_id: int) -> list[tuple[AgendaItem, Case]]:
    """The session's agenda in order, with its cases."""
    query = (
        select(AgendaItem, Case)
        .join(Case, Case.id == AgendaItem.case_id)
        .where(AgendaItem.session_id == session_id)
        .order_by(AgendaItem.position, AgendaItem.id)
    )
    return [(item, case) for item, case in (await db.execute(query)).all()]


async def schedule(
    db: AsyncSession,
    caller: Caller,
    session: ReviewSession,
    view: CaseView,
    notifier: Notifier,
) -> AgendaItem:
    """Put an accepted case at the end of the session's agenda (`schedule` transition)."""
    await case_steps.move(
        db,
        caller,
        view,
        CaseAction.SCHEDULE,
        notifier,
        session=await agenda_session(db, session),
        session_id=session.id,
    )
    await db.execute(
        delete(AgendaItem).where(
            AgendaItem.session_id == session.id, AgendaItem.case_id == view.case.id
        )
    )
    last = await db.scalar(
        select(func.max(AgendaItem.position)).where(AgendaItem.session_id == session.id)
    )
    item = AgendaItem(session_id=session.id, case_id=view.case.id, position=(last or 0) + 1)
    db.add(item)
    await db.flush()
    return item


async def unschedule(
    db: AsyncSession, caller: Caller, view: CaseView, notifier: Notifier
) -> None:
    """Take a scheduled case off its session's agenda; it is accepted (waiting) again."""
    session = view.current_session()
    await case_steps.move(db, caller, view, CaseAction.UNSCHEDULE, notifier)
    if session is not None:
        await db.execute(
            delete(AgendaItem).where(
                AgendaItem.session_id == int(session.session_id),
                AgendaItem.case_id == view.case.id,
            )
        )
        await _renumber(db, int(session.session_id))


async def _renumber(db: AsyncSession, session_id: int) -> None:
    for position, (item, _case) in enumerate(await agenda(db, session_id), start=1):
        item.position = position
    await db.flush()


async def reorder(
    db: AsyncSession, caller: Caller, session: ReviewSession, codes: Sequence[str]
) -> list[tuple[AgendaItem, Case]]:
    """Put the agenda in the order of `codes`, which must name exactly the agenda's cases."""
    if not _may_run(caller, session):
        raise WorkflowError("not_allowed", "Only a coordinator or the chair orders the agenda.")
    rows = await agenda(db, session.id)
    by_code = {case.code: item for item, case in rows}
    wanted = [c.strip().upper() for c in codes]
    if sorted(wanted) != sorted(by_code):
        raise SessionError("agenda_mismatch", "list every case of the agenda exactly once")
    for position, code in enumerate(wanted, start=1):
        by_code[code].position = position
    await db.flush()
    await _record(db, caller, "session.agenda_ordered", session, codes=wanted)
    return await agenda(db, session.id)


async def mark_discussed(
    db: AsyncSession, caller: Caller, view: CaseView, notifier: Notifier
) -> None:
    """The board discussed the case; its chair now owes the recommendation. Refused before the
    session has started (`session_not_started`): nothing was discussed yet."""
    session = view.current_session()
    # Who may first (a refusal by role says nothing about the session), then when.
    transition(
        CaseStatus(view.case.status), CaseAction.MARK_DISCUSSED,
        actor_for(caller.person, view.facts),
    )
    if session is not None:
        row = await db.get(ReviewSession, int(session.session_id))
        if row is not None and as_utc(row.starts_at) > utcnow():
            raise SessionError("session_not_started", "the session has not started yet")
    await case_steps.move(db, caller, view, CaseAction.MARK_DISCUSSED, notifier)
    if session is not None:
        view.case.discussed_in_session_id = int(session.session_id)


# ---------------------------------------------------------------- attendance


async def record_call_event(
    db: AsyncSession, *, room_id: str, user_id: str, peer_id: str, kind: str, at: datetime
) -> Attendance | None:
    """Attendance from the call's `joined`/`left` events, for rooms that belong to a session."""
    session_id = await db.scalar(select(ReviewSession.id).where(ReviewSession.room_id == room_id))
    if session_id is None or await db.get(User, user_id) is None:
        return None
    if kind == "joined":
        row = Attendance(session_id=session_id, user_id=user_id, peer_id=peer_id, joined_at=at)
        db.add(row)
        return row
    if kind == "left":
        await db.execute(
            update(Attendance)
            .where(
                Attendance.session_id == session_id,
                Attendance.peer_id == peer_id,
                Attendance.user_id == user_id,
                Attendance.left_at.is_(None),
            )
            .values(left_at=at)
            .execution_options(synchronize_session=False)
        )
    return None


async def attendance(db: AsyncSession, session_id: int) -> list[Attendance]:
    """Who was in the session's call and when, in order of joining."""
    query = (
        select(Attendance)
        .where(Attendance.session_id == session_id)
        .order_by(Attendance.joined_at, Attendance.id)
    )
    return list((await db.scalars(query)).all())
