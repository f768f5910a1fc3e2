"""The workflow's steps on a case: each checked (`casebook.workflow`), applied, audited and told
to its audiences through the `Notifier`, in the caller's transaction (the caller commits)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from casebook.access import AgendaSession, actor_for
from casebook.cases import Caller, CaseView, record
from casebook.clock import utcnow
from casebook.identifier_refusals import refuse_identifiers, text_findings
from casebook.models import Case, CaseStatus, InformationRequest, Role, User
from casebook.notifications import Notice, Notifier, recipients
from casebook.triage import Urgency
from casebook.workflow import Audience, CaseAction, WorkflowError, notifications_for, transition


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
