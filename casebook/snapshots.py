"""Rows → the read-only pictures (`casebook.summaries`) the nota PDF, the FHIR export and the
e-mail messages take: the one place that maps the clinical tables into them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import opinions
from casebook.models import (
    AgendaItem,
    Case,
    CaseStatus,
    Center,
    Recommendation,
    ReviewSession,
    RoomKind,
    Sex,
    User,
)
from casebook.summaries import (
    CaseSummary,
    Clinician,
    PatientPseudonym,
    RecommendationSummary,
    SessionSummary,
)
from casebook.summaries import Center as CenterSummary
from casebook.triage import Urgency


@dataclass(frozen=True)
class CaseDocuments:
    """A case with the session that has (or discussed) it and its recommendation, if any."""

    case: CaseSummary
    session: SessionSummary | None
    recommendation: RecommendationSummary | None


async def clinician(db: AsyncSession, user: User) -> Clinician:
    """A user as documents show them."""
    center = await db.get(Center, user.center_id)
    return Clinician(
        name=user.display_name,
        center=center.name if center else "",
        email=user.email,
        user_id=user.id,
    )


async def case_summary(db: AsyncSession, case: Case) -> CaseSummary:
    """The case's picture."""
    center = await db.get(Center, case.referring_center_id)
    referrer = await db.get(User, case.referrer_user_id)
    assert center is not None and referrer is not None
    return CaseSummary(
        code=case.code,
        status=CaseStatus(case.status),
        urgency=Urgency(case.urgency),
        patient=PatientPseudonym(
            initials=case.patient_initials,
            age_years=case.patient_age_years,
            age_months=case.patient_age_months,
            sex=Sex(case.patient_sex),
        ),
        diagnosis=case.diagnosis,
        icd10_code=case.icd10_code,
        stage=case.stage,
        clinical_question=case.clinical_question,
        referring_center=CenterSummary(name=center.name, clues=center.clues),
        referrer=await clinician(db, referrer),
        created_at=case.created_at,
        submitted_at=case.submitted_at,
        specialty=case.specialty,
    )


async def session_summary(
    db: AsyncSession, session: ReviewSession, base_url: str = ""
) -> SessionSummary:
    """The session's picture; `base_url` makes its room URL absolute (for e-mail)."""
    return SessionSummary(
        session_id=session.id,
        kind=RoomKind(session.kind),
        title=session.title,
        starts_at=session.starts_at,
        duration_minutes=session.duration_minutes,
        room_url=f"{base_url.rstrip('/')}/rooms/{session.room_id}",
        chair=await clinician(db, session.chair),
        sequence=session.sequence,
    )


async def recommendation_summary(
    db: AsyncSession, recommendation: Recommendation, signers: list[User]
) -> RecommendationSummary:
    """The nota's picture: its content, the chair and the signatories."""
    chair = await db.get(User, recommendation.chair_user_id)
    assert chair is not None
    return RecommendationSummary(
        issued_at=recommendation.issued_at,
        diagnostic_criteria=recommendation.diagnostic_criteria,
        suggested_studies=recommendation.suggested_studies,
        treatment_suggestions=recommendation.treatment_suggestions,
        chair=await clinician(db, chair),
        signatories=tuple([await clinician(db, u) for u in signers]),
    )


async def case_documents(db: AsyncSession, case: Case, base_url: str = "") -> CaseDocuments:
    """Everything `fhir.case_bundle` and `nota_pdf.Nota` need about a case."""
    session_id = case.discussed_in_session_id
    if session_id is None:
        session_id = await db.scalar(
            select(AgendaItem.session_id)
            .where(AgendaItem.case_id == case.id)
            .order_by(AgendaItem.id.desc())
        )
    session = await db.get(ReviewSession, session_id) if session_id is not None else None
    found = await opinions.recommendation_of(db, case.id)
    return CaseDocuments(
        case=await case_summary(db, case),
        session=await session_summary(db, session, base_url) if session else None,
        recommendation=await recommendation_summary(db, *found) if found else None,
    )
