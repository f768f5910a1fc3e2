"""Consultants' opinions on a case under review, and the recommendation (nota de interconsulta)
the chair of the discussing session issues, signed by the specialists who agreed.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import audit, case_steps, cases
from casebook.access import OPINION_ROLES, AgendaSession, can_add_opinion
from casebook.cases import Caller, CaseView
from casebook.errors import CasebookError
from casebook.models import Opinion, Recommendation, RecommendationSignatory, Role, User
from casebook.notifications import Notifier
from casebook.workflow import CaseAction, WorkflowError


class RecommendationNotFound(CasebookError):
    """The case has no recommendation (yet)."""

    def __init__(self) -> None:
        super().__init__("not_found", "no recommendation has been issued for this case")


async def add_opinion(db: AsyncSession, caller: Caller, view: CaseView, body: str) -> Opinion:
    """Add the caller's opinion: coordinators, or consultants invited to the case's session."""
    if not can_add_opinion(caller.person, view.facts):
        raise WorkflowError(
            "not_allowed",
            "Only coordinators and invited consultants add opinions, while the case is reviewed.",
        )
    opinion = Opinion(case_id=view.case.id, author_user_id=caller.user_id, body=body)
    db.add(opinion)
    await db.flush()
    await cases.record(db, caller, "opinion.added", view.case, opinion=opinion.id)
    return opinion


async def opinions_of(db: AsyncSession, case_id: int) -> Sequence[Opinion]:
    """The case's opinions, oldest first."""
    query = select(Opinion).where(Opinion.case_id == case_id).order_by(Opinion.id)
    return (await db.scalars(query)).all()


async def issue(
    db: AsyncSession,
    caller: Caller,
    view: CaseView,
    *,
    diagnostic_criteria: str,
    suggested_studies: str,
    treatment_suggestions: str,
    signatory_ids: Sequence[str],
    notifier: Notifier,
) -> Recommendation:
    """The chair issues the nota; signatories must be consultants who took part in the session.

    The chair signs always. The `case.issue_recommendation` notice tells the referrer and the
    coordinators; whoever drains the outbox sends the nota (PDF, FHIR) from `recommendation_of`.
    """
    session = view.current_session()
    # The workflow decides who may issue (the chair of the discussing session) and when.
    if session is None:
        raise WorkflowError("illegal_transition", "The case was not discussed in a session.")
    allowed = {session.chair_user_id, *session.invitee_user_ids}
    signers = {caller.user_id, *signatory_ids}
    users = (await db.scalars(select(User).where(User.id.in_(signers)))).all()
    if len(users) != len(signers) or any(
        u.id not in allowed or Role(u.role) not in OPINION_ROLES for u in users
    ):
        raise CasebookError(
            "invalid_signatory", "signatories must be consultants who took part in the session"
        )
    await case_steps.move(db, caller, view, CaseAction.ISSUE_RECOMMENDATION, notifier)
    recommendation = Recommendation(
        case_id=view.case.id,
        session_id=int(session.session_id),
        chair_user_id=caller.user_id,
        diagnostic_criteria=diagnostic_criteria,
        suggested_studies=suggested_studies,
        treatment_suggestions=treatment_suggestions,
    )
    db.add(recommendation)
    await db.flush()
    for user_id in sorted(signers):
        db.add(RecommendationSignatory(recommendation_id=recommendation.id, user_id=user_id))
    await db.flush()
    await _record(db, caller, "recommendation.issued", recommendation, view)
    return recommendation


async def signatory_choices(db: AsyncSession, session: AgendaSession) -> list[User]:
    """Who may co-sign the chair's nota: the session's active consultants (not the chair)."""
    ids = set(session.invitee_user_ids) - {session.chair_user_id}
    if not ids:
        return []
    users = await db.scalars(select(User).where(User.id.in_(ids)).order_by(User.display_name))
    return [u for u in users.unique().all() if u.active and Role(u.role) in OPINION_ROLES]


async def recommendation_of(
    db: AsyncSession, case_id: int
) -> tuple[Recommendation, list[User]] | None:
    """The case's recommendation and its signatories (by name), or None."""
    recommendation = await db.scalar(
        select(Recommendation).where(Recommendation.case_id == case_id)
    )
    if recommendation is None:
        return None
    signers = await db.scalars(
        select(User)
        .join(RecommendationSignatory, RecommendationSignatory.user_id == User.id)
        .where(RecommendationSignatory.recommendation_id == recommendation.id)
        .order_by(User.display_name)
    )
    return recommendation, list(signers.unique().all())


async def read(
    db: AsyncSession, caller: Caller, view: CaseView
) -> tuple[Recommendation, list[User]]:
    """The case's recommendation, audited (`recommendation.read`)."""
    found = await recommendation_of(db, view.case.id)
    if found is None:
        raise RecommendationNotFound()
    await _record(db, caller, "recommendation.read", found[0], view)
    return found


async def _record(
    db: AsyncSession, caller: Caller, action: str, recommendation: Recommendation, view: CaseView
) -> None:
    await audit.record(
        db,
        action,
        actor_user_id=caller.user_id,
        target_type="recommendation",
        target_id=str(recommendation.id),
        ip=caller.ip,
        detail={"case": view.case.code},
    )
