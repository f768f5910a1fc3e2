"""Cases: creating and editing drafts, moving them through the workflow, finding and listing them.

Every function takes the `Caller` (who acts, from where) and enforces `casebook.access` (what they
may see: anything else is `CaseNotFound`, so existence does not leak) and `casebook.workflow` (what
they may do: `WorkflowError`). Every read and write appends to the audit trail and every
transition tells its audiences through the `Notifier`, all in the caller's transaction (the
caller commits).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    bindparam,
    exists,
    false,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from casebook import audit
from casebook.access import (
    DISCUSSED_STATUSES,
    ON_AGENDA_STATUSES,
    REFERRING_CENTER_ROLES,
    AgendaSession,
    CaseFacts,
    Person,
    actor_for,
    can_view_case,
    sees_every_case_in,
)
from casebook.case_code import format_case_code
from casebook.case_listing import CaseSummary, Listing, listing, summary_page, written_in
from casebook.clock import utcnow
from casebook.errors import CasebookError
from casebook.identifiers import CASE_TEXT_FIELDS, Finding, IdentifiersFound, find_identifiers
from casebook.models import (
    AgendaItem,
    Case,
    CaseCounter,
    CaseStatus,
    InformationRequest,
    ReviewSession,
    Role,
    SessionInvitee,
    User,
)
from casebook.notifications import Notice, Notifier, recipients
from casebook.triage import Urgency
from casebook.workflow import (
    CLINICAL_ROLES,
    Audience,
    CaseAction,
    WorkflowError,
    allowed_actions,
    notifications_for,
    transition,
)

# What the referrer writes (and may change while the case is a draft).
EDITABLE_FIELDS = frozenset(
    {
        "patient_initials",
        "patient_age_years",
        "patient_age_months",
        "patient_sex",
        "diagnosis",
        "icd10_code",
        "stage",
        "treatment_so_far",
        "clinical_question",
        "urgency",
    }
)


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


# ---------------------------------------------------------------- facts and visibility


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


# The viewer in `visible_to`'s condition: bound at execution (`viewer_params`), so that the
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


# ---------------------------------------------------------------- creating and editing


async def next_case_number(db: AsyncSession, year: int) -> int:
    """The next number of `year`, from a counter row locked by the UPDATE until commit."""
    dialect = db.get_bind().dialect.name
    if dialect in {"postgresql", "sqlite"}:
        dialect_insert = pg_insert if dialect == "postgresql" else sqlite_insert
        await db.execute(
            dialect_insert(CaseCounter)
            .values(year=year, last_number=0)
            .on_conflict_do_nothing(index_elements=["year"])
        )
    elif await db.get(CaseCounter, year) is None:  # pragma: no cover - other databases
        await db.execute(insert(CaseCounter).values(year=year, last_number=0))
    number = await db.scalar(
        update(CaseCounter)
        .where(CaseCounter.year == year)
        .values(last_number=CaseCounter.last_number + 1)
        .returning(CaseCounter.last_number)
        .execution_options(synchronize_session=False)
    )
    assert number is not None
    return int(number)


def _require_clinical(caller: Caller) -> None:
    if caller.role not in CLINICAL_ROLES:
        raise WorkflowError("not_allowed", "Only clinical staff create and edit cases.")


async def create_draft(db: AsyncSession, caller: Caller, fields: Mapping[str, Any]) -> Case:
    """A new draft case of the caller's center, with the next public code; audited."""
    _require_clinical(caller)
    now = utcnow()
    number = await next_case_number(db, now.year)
    case = Case(
        code=format_case_code(now.year, number),
        status=CaseStatus.DRAFT.value,
        referring_center_id=caller.center_id,
        referrer_user_id=caller.user_id,
        created_at=now,
        updated_at=now,
        **_editable(fields),
    )
    db.add(case)
    await db.flush()
    await record(db, caller, "case.created", case)
    return case


def require_editable(caller: Caller, view: CaseView) -> None:
    """Refuse unless `caller` may change the case's content now (its referrer, in draft)."""
    if view.case.status != CaseStatus.DRAFT.value:
        raise WorkflowError("illegal_transition", "Only a case in draft can be edited.")
    if not actor_for(caller.person, view.facts).is_case_referrer or caller.role not in (
        CLINICAL_ROLES
    ):
        raise WorkflowError("not_allowed", "Only the case's referrer may edit a draft.")


def may_edit(caller: Caller, view: CaseView) -> bool:
    """Whether `require_editable` lets `caller` through (to offer the edit page)."""
    try:
        require_editable(caller, view)
    except WorkflowError:
        return False
    return True


async def edit_draft(
    db: AsyncSession, caller: Caller, view: CaseView, fields: Mapping[str, Any]
) -> Case:
    """Change a draft's content: its referrer only, and only while it is a draft."""
    case = view.case
    require_editable(caller, view)
    changes = _editable(fields)
    for name, value in changes.items():
        setattr(case, name, value)
    case.updated_at = utcnow()
    await record(db, caller, "case.edited", case, fields=sorted(changes))
    return case


def _editable(fields: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise CasebookError("invalid_field", f"cannot set {', '.join(sorted(unknown))}")
    return {k: (v.value if isinstance(v, Urgency) else v) for k, v in fields.items()}


# ---------------------------------------------------------------- the workflow


async def move(
    db: AsyncSession,
    caller: Caller,
    view: CaseView,
    action: CaseAction,
    notifier: Notifier,
    *,
    session: AgendaSession | None = None,
    **detail: Any,
) -> CaseStatus:
    """Take `action` on the case: check it (workflow), apply it, audit it, notify its audiences.

    The status changes with `UPDATE … WHERE status = <old>`, so of two people acting on the same
    case at once only one wins; the other gets `illegal_transition`.
    """
    case = view.case
    source = CaseStatus(case.status)
    target = transition(source, action, actor_for(caller.person, view.facts))
    now = utcnow()
    values: dict[str, Any] = {"status": target.value, "updated_at": now}
    if case.submitted_at is None and target is not CaseStatus.WITHDRAWN:
        # The first submission starts the queue's clock; in the same UPDATE, as the table's
        # check constraint wants every case past draft to have it.
        values["submitted_at"] = now
    changed = await db.execute(
        update(Case)
        .where(Case.id == case.id, Case.status == source.value)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if getattr(changed, "rowcount", 1) != 1:
        raise WorkflowError("illegal_transition", "The case changed meanwhile; reload it.")
    for name, value in values.items():
        set_committed_value(case, name, value)
    await record(
        db, caller, action.audit_action, case, **{"from": source.value, "to": target.value},
        **detail,
    )
    session = session or view.current_session()
    people = await _audience(db, case, notifications_for(source, action), session)
    await notifier.notify(
        db,
        Notice(
            action.audit_action,
            recipients(people, caller.user_id),
            case_id=case.id,
            session_id=int(session.session_id) if session else None,
        ),
    )
    return target


async def _audience(
    db: AsyncSession, case: Case, audiences: frozenset[Audience], session: AgendaSession | None
) -> set[str]:
    people: set[str] = set()
    if Audience.REFERRER in audiences:
        people.add(case.referrer_user_id)
    if Audience.COORDINATORS in audiences:
        coordinators = await db.scalars(
            select(User.id).where(User.role == Role.COORDINATOR.value, User.active.is_(True))
        )
        people.update(coordinators.all())
    if session is not None:
        if Audience.SESSION_CHAIR in audiences:
            people.add(session.chair_user_id)
        if Audience.SESSION_INVITEES in audiences:
            people.update(session.invitee_user_ids)
    return people


async def submit(db: AsyncSession, caller: Caller, view: CaseView, notifier: Notifier) -> None:
    """The referrer sends the draft to the network; the queue's clock starts (first time only).

    Refused (`IdentifiersFound`) while its free text names the patient; the draft stays as it is.
    """
    if CaseStatus(view.case.status) is CaseStatus.DRAFT:
        case = view.case
        await refuse_identifiers(db, caller, case, "submit", text_findings(case))
    await move(db, caller, view, CaseAction.SUBMIT, notifier)


def text_findings(case: Case) -> list[Finding]:
    """Direct identifiers in the case's own free text (what submission refuses)."""
    texts = {name: getattr(case, name) or "" for name in CASE_TEXT_FIELDS}
    return find_identifiers(texts, [], [case.patient_initials])


async def refuse_identifiers(
    db: AsyncSession, caller: Caller, case: Case, step: str, findings: Sequence[Finding]
) -> None:
    """Raise `IdentifiersFound` if there are findings, audited as `case.identifiers_refused`.

    The audit keeps only where and what kind, never the identifier; the handler commits it.
    """
    if not findings:
        return
    await record(
        db, caller, "case.identifiers_refused", case, step=step,
        findings=[{"field": f.field, "kind": f.kind.value} for f in findings],
    )
    raise IdentifiersFound(findings)


@asynccontextmanager
async def keeping_refusal_audit(db: AsyncSession) -> AsyncIterator[None]:
    """Commit the audit of an `IdentifiersFound` refusal before it propagates.

    The refusal comes before the step writes anything, so only its audit row is committed.
    """
    try:
        yield
    except IdentifiersFound:
        await db.commit()
        raise


async def request_information(
    db: AsyncSession, caller: Caller, view: CaseView, question: str, notifier: Notifier
) -> InformationRequest:
    """A coordinator asks the referrer for more before triage."""
    await move(db, caller, view, CaseAction.REQUEST_INFORMATION, notifier)
    request = InformationRequest(
        case_id=view.case.id, requested_by_user_id=caller.user_id, question=question
    )
    db.add(request)
    return request


async def answer_information(
    db: AsyncSession, caller: Caller, view: CaseView, answer: str, notifier: Notifier
) -> None:
    """The referrer answers the open request; the case goes back to triage."""
    await move(db, caller, view, CaseAction.ANSWER_INFORMATION, notifier)
    open_request = await db.scalar(
        select(InformationRequest)
        .where(
            InformationRequest.case_id == view.case.id,
            InformationRequest.answered_at.is_(None),
        )
        .order_by(InformationRequest.id.desc())
    )
    if open_request is not None:
        open_request.answer = answer
        open_request.answered_by_user_id = caller.user_id
        open_request.answered_at = utcnow()


async def accept(
    db: AsyncSession,
    caller: Caller,
    view: CaseView,
    *,
    urgency: Urgency,
    specialty: str,
    note: str | None,
    notifier: Notifier,
) -> None:
    """Triage: a coordinator accepts the case, setting its urgency and specialty."""
    await move(
        db, caller, view, CaseAction.ACCEPT, notifier, urgency=urgency.value, specialty=specialty
    )
    view.case.urgency = urgency.value
    view.case.specialty = specialty
    view.case.triage_note = note


async def reject(
    db: AsyncSession, caller: Caller, view: CaseView, note: str, notifier: Notifier
) -> None:
    """Triage: a coordinator declines the case, saying why (to the referrer, not the trail)."""
    await move(db, caller, view, CaseAction.REJECT, notifier)
    view.case.triage_note = note


async def withdraw(db: AsyncSession, caller: Caller, view: CaseView, notifier: Notifier) -> None:
    """The referrer (or a coordinator, once submitted) withdraws the case.

    A scheduled case keeps its agenda row as history; access rules ignore it once withdrawn.
    """
    session = view.current_session()
    await move(db, caller, view, CaseAction.WITHDRAW, notifier, session=session)


async def close(db: AsyncSession, caller: Caller, view: CaseView, notifier: Notifier) -> None:
    """The recommendation was received: the case is closed."""
    await move(db, caller, view, CaseAction.CLOSE, notifier)


async def information_requests(db: AsyncSession, case_id: int) -> Sequence[InformationRequest]:
    """The case's information requests, oldest first."""
    query = (
        select(InformationRequest)
        .where(InformationRequest.case_id == case_id)
        .order_by(InformationRequest.id)
    )
    return (await db.scalars(query)).all()
