"""The cases a caller may see, in SQL: `visible_to`, the condition that mirrors
`access.can_view_case`, and `list_cases`, the audited listing built on it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Integer, String, and_, bindparam, exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import audit
from casebook.access import ON_AGENDA_STATUSES, REFERRING_CENTER_ROLES, Person, sees_every_case_in
from casebook.case_listing import CaseSummary, Listing, listing, summary_page, written_in
from casebook.cases import Caller
from casebook.models import AgendaItem, Case, CaseStatus, ReviewSession, Role, SessionInvitee
from casebook.triage import Urgency
from casebook.workflow import CLINICAL_ROLES

# statement of a role is built once.
VIEWER_USER_ID = bindparam("viewer_user_id", type_=String)
VIEWER_CENTER_ID = bindparam("viewer_center_id", type_=Integer)


def visible_to(role: Role) -> Any:
    """A SQL condition true for exactly the cases `access.can_view_case` lets a person of `role`
    see, the person given at execution by `viewer_params`."""
    if role is Role.ADMIN:
        return false()
    # PostgreSQL tests an OR's terms in the order written and stops at the first true one: the
    # broadest and cheapest come first.
    conditions: list[ColumnElement[bool]] = []
    if role is Role.COORDINATOR:
        conditions.append(Case.submitted_at.is_not(None))
    if role in REFERRING_CENTER_ROLES:
        conditions.append(Case.referring_center_id == VIEWER_CENTER_ID)
    if role in CLINICAL_ROLES:
        conditions.append(Case.referrer_user_id == VIEWER_USER_ID)
    invited = exists(
        select(AgendaItem.id)
        .join(ReviewSession, ReviewSession.id == AgendaItem.session_id)
        .where(
            AgendaItem.case_id == Case.id,
            or_(
                ReviewSession.chair_user_id == VIEWER_USER_ID,
                exists(
                    select(SessionInvitee.user_id).where(
                        SessionInvitee.session_id == ReviewSession.id,
                        SessionInvitee.user_id == VIEWER_USER_ID,
                    )
                ),
            ),
        )
    )
    conditions.append(and_(Case.status.in_([s.value for s in ON_AGENDA_STATUSES]), invited))
    return or_(*conditions)


def viewer_params(person: Person) -> dict[str, Any]:
    """The bound parameters of `visible_to`'s condition for `person`."""
    return {"viewer_user_id": person.user_id, "viewer_center_id": person.center_id}


@lru_cache(maxsize=64)
def case_listing(
    role: Role | None, by_status: bool, by_urgency: bool, by_center: bool
) -> Listing:
    """The statements of `list_cases` for one role and set of filters (a few dozen shapes, each
    built once); the filters' values are the parameters `status`, `urgency`, `center_id`.
    Role None: the filters alone, for a caller the filters already restrict to what they see."""
    where = [] if role is None else [visible_to(role)]
    if by_status:
        where.append(Case.status == written_in("status", String))
    if by_urgency:
        where.append(Case.urgency == written_in("urgency", String))
    if by_center:
        where.append(Case.referring_center_id == bindparam("center_id", type_=Integer))
    return listing(where, [Case.id.desc()])


@dataclass(frozen=True)
class CasePage:
    """One page of a case listing."""

    cases: list[CaseSummary]
    total: int
    page: int
    page_size: int


async def list_cases(
    db: AsyncSession,
    caller: Caller,
    *,
    status: CaseStatus | None = None,
    urgency: Urgency | None = None,
    center_id: int | None = None,
    page: int = 1,
    page_size: int = 20,
) -> CasePage:
    """The cases the caller may see, newest first, filtered; audited (`case.list`, the codes)."""
    # A status whose every case the caller sees (a coordinator's accepted cases, say) needs no
    # visibility test per row (the table's check constraint ties submission to status).
    restricted = status is None or not sees_every_case_in(caller.role, status)
    statements = case_listing(
        caller.role if restricted else None,
        status is not None, urgency is not None, center_id is not None,
    )
    params = {
        **viewer_params(caller.person),
        "status": status.value if status is not None else None,
        "urgency": urgency.value if urgency is not None else None,
        "center_id": center_id,
    }
    cases, total = await summary_page(db, statements, params, page=page, page_size=page_size)
    await audit.record(
        db,
        "case.list",
        actor_user_id=caller.user_id,
        target_type="case",
        ip=caller.ip,
        detail={"codes": [c.code for c in cases], "page": page},
    )
    return CasePage(cases, total, page, page_size)
