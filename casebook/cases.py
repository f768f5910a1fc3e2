"""Cases: who acts (`Caller`), a case as the caller may see it (`CaseView`), finding and reading
one.

Every service of the casebook takes the `Caller` and enforces `casebook.access` (what they may
see: anything else is `CaseNotFound`, so existence does not leak). Drafts are in
`casebook.case_drafts`, the workflow's steps in `casebook.case_steps`, listings in
`casebook.visible_cases`; each read and write appends to the audit trail in the caller's
transaction (the caller commits).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import audit
from casebook.access import (
    DISCUSSED_STATUSES,
    AgendaSession,
    CaseFacts,
    Person,
    actor_for,
    can_view_case,
)
from casebook.errors import CasebookError
from casebook.models import AgendaItem, Case, CaseStatus, ReviewSession, Role, SessionInvitee, User
from casebook.workflow import CaseAction, allowed_actions


class CaseNotFound(CasebookError):
    """No such case, or one the caller may not see (the two are indistinguishable on purpose)."""

    def __init__(self) -> None:
        super().__init__("not_found", "no such case")


@dataclass(frozen=True)
class Caller:
    """Who acts, and from where (for the audit trail)."""

    user_id: str
    role: Role
    center_id: int
    ip: str | None = None

    @classmethod
    def of(cls, user: User, ip: str | None) -> Caller:
        """The caller for a signed-in user."""
        return cls(user.id, Role(user.role), user.center_id, ip)

    @property
    def person(self) -> Person:
        """The access rules' view of the caller."""
        return Person(self.user_id, self.role, self.center_id)


@dataclass(frozen=True)
class CaseView:
    """A case the caller may see, with the facts access decisions were made on."""

    case: Case
    facts: CaseFacts

    def allowed_actions(self, caller: Caller) -> list[CaseAction]:
        """What the caller may do to the case now (for the UI)."""
        return allowed_actions(CaseStatus(self.case.status), actor_for(caller.person, self.facts))

    def current_session(self) -> AgendaSession | None:
        """The session whose agenda has the case (the discussing one once discussed)."""
        for session in self.facts.sessions:
            if session.session_id == self.facts.discussed_in:
                return session
        return self.facts.sessions[-1] if self.facts.sessions else None


async def record(
    db: AsyncSession, caller: Caller, action: str, case: Case, **detail: Any
) -> None:
    """Audit `action` on `case` by `caller` (detail: codes and ids only, never patient data)."""
    await audit.record(
        db,
        action,
        actor_user_id=caller.user_id,
        target_type="case",
        target_id=case.code,
        ip=caller.ip,
        detail=detail,
    )


async def agenda_sessions(db: AsyncSession, case_id: int) -> tuple[AgendaSession, ...]:
    """The sessions whose agenda has the case, oldest first, with who takes part."""
    rows = (
        await db.execute(
            select(ReviewSession.id, ReviewSession.chair_user_id)
            .join(AgendaItem, AgendaItem.session_id == ReviewSession.id)
            .where(AgendaItem.case_id == case_id)
            .order_by(AgendaItem.added_at, AgendaItem.id)
        )
    ).all()
    sessions = []
    for session_id, chair in rows:
        invitees = await db.scalars(
            select(SessionInvitee.user_id).where(SessionInvitee.session_id == session_id)
        )
        sessions.append(AgendaSession(str(session_id), chair, frozenset(invitees.all())))
    return tuple(sessions)


async def facts_of(db: AsyncSession, case: Case) -> CaseFacts:
    """What access rules need to know about `case`, from storage."""
    status = CaseStatus(case.status)
    discussed = status in DISCUSSED_STATUSES and case.discussed_in_session_id is not None
    return CaseFacts(
        referring_center_id=case.referring_center_id,
        referrer_user_id=case.referrer_user_id,
        status=status,
        ever_submitted=case.submitted_at is not None,
        sessions=await agenda_sessions(db, case.id),
        discussed_in=str(case.discussed_in_session_id) if discussed else None,
    )


async def find_visible(db: AsyncSession, caller: Caller, code: str) -> CaseView:
    """The case with public `code` if the caller may see it; `CaseNotFound` otherwise."""
    case = await db.scalar(select(Case).where(Case.code == code.strip().upper()))
    if case is None:
        raise CaseNotFound()
    facts = await facts_of(db, case)
    if not can_view_case(caller.person, facts):
        raise CaseNotFound()
    return CaseView(case, facts)


async def read(db: AsyncSession, caller: Caller, code: str) -> CaseView:
    """`find_visible`, audited as a read (`case.read`)."""
    view = await find_visible(db, caller, code)
    await record(db, caller, "case.read", view.case)
    return view
