"""The cases API's request and reply models, and how a case is shaped into its replies.

Shared by the cases API (`web.api.cases`, `web.api.case_attachments`, `web.api.opinions`), the
call's case panel and the casebook pages, which parse their forms into the same models.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from aiohttp import web
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import attachments, case_steps, opinions
from casebook.case_code import parse_case_code
from casebook.case_listing import CaseSummary
from casebook.cases import Caller, CaseView
from casebook.models import Attachment, Case, CaseStatus, Center, Sex
from casebook.summaries import normalize_initials
from casebook.triage import Urgency
from casebook.workflow import CaseAction
from web.http.errors import NotFound
from web.http.routes import MAX_ID, Text

_ICD10 = re.compile(r"[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?")


def _icd10(value: str) -> str:
    code = value.strip().upper()
    if not _ICD10.fullmatch(code):
        raise ValueError("an ICD-10 code looks like C91.0 or C71")
    return code


Initials = Annotated[Text, AfterValidator(normalize_initials)]
Icd10 = Annotated[Text, AfterValidator(_icd10)]
Line = Annotated[Text, Field(min_length=1, max_length=300)]
Paragraphs = Annotated[Text, Field(max_length=20_000)]
Specialty = Annotated[Text, Field(min_length=2, max_length=80)]


# ---------------------------------------------------------------- models


class CaseDraftIn(BaseModel):
    """A new case as the referrer writes it (a pseudonym: initials, age and sex only)."""

    model_config = ConfigDict(extra="forbid")

    patient_initials: Initials
    patient_age_years: int = Field(ge=0, le=25)
    patient_age_months: int = Field(0, ge=0, le=11)
    patient_sex: Sex
    diagnosis: Line
    icd10_code: Icd10
    stage: Annotated[Text, Field(max_length=120)] | None = None
    treatment_so_far: Paragraphs = ""
    clinical_question: Paragraphs = ""
    urgency: Urgency = Urgency.ROUTINE


class CaseEditIn(BaseModel):
    """Changes to a draft: only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    patient_initials: Initials | None = None
    patient_age_years: int | None = Field(None, ge=0, le=25)
    patient_age_months: int | None = Field(None, ge=0, le=11)
    patient_sex: Sex | None = None
    diagnosis: Line | None = None
    icd10_code: Icd10 | None = None
    stage: Annotated[Text, Field(max_length=120)] | None = None
    treatment_so_far: Paragraphs | None = None
    clinical_question: Paragraphs | None = None
    urgency: Urgency | None = None


class QuestionIn(BaseModel):
    """A coordinator's request for more information."""

    model_config = ConfigDict(extra="forbid")
    question: Annotated[Text, Field(min_length=1, max_length=5000)]


class AnswerIn(BaseModel):
    """The referrer's answer to an information request."""

    model_config = ConfigDict(extra="forbid")
    answer: Annotated[Text, Field(min_length=1, max_length=20_000)]


class AcceptIn(BaseModel):
    """Triage: the case's urgency and the specialty that will review it."""

    model_config = ConfigDict(extra="forbid")
    urgency: Urgency
    specialty: Specialty
    note: Annotated[Text, Field(max_length=5000)] | None = None


class RejectIn(BaseModel):
    """Triage: why the network declines the case (shown to the referrer)."""

    model_config = ConfigDict(extra="forbid")
    note: Annotated[Text, Field(min_length=1, max_length=5000)]


class OpinionIn(BaseModel):
    """A consultant's opinion."""

    model_config = ConfigDict(extra="forbid")
    body: Annotated[Text, Field(min_length=1, max_length=20_000)]


class RecommendationIn(BaseModel):
    """The nota de interconsulta; one item per line in each list."""

    model_config = ConfigDict(extra="forbid")
    diagnostic_criteria: Annotated[Text, Field(min_length=1, max_length=20_000)]
    suggested_studies: Paragraphs = ""
    treatment_suggestions: Annotated[Text, Field(min_length=1, max_length=20_000)]
    signatories: list[Annotated[Text, Field(max_length=64)]] = Field(
        default_factory=list, max_length=50
    )


class CaseListQuery(BaseModel):
    """Filters and page of a case listing."""

    status: CaseStatus | None = None
    urgency: Urgency | None = None
    center: int | None = Field(None, ge=1, le=MAX_ID)
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(20, ge=1, le=100)


class QueueQuery(BaseModel):
    """Page of the queue."""

    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(50, ge=1, le=200)


class Ref(BaseModel):
    """Something named: a center or a person."""

    id: str
    name: str


class PatientOut(BaseModel):
    """The patient's pseudonym."""

    initials: str
    age_years: int
    age_months: int
    sex: Sex


class CaseSummaryOut(BaseModel):
    """A case in a list."""

    code: str
    status: CaseStatus
    urgency: Urgency
    specialty: str | None
    referring_center_id: int
    patient: PatientOut
    diagnosis: str
    icd10_code: str
    submitted_at: datetime | None
    updated_at: datetime


class AttachmentOut(BaseModel):
    """A file of the case."""

    id: int
    filename: str
    kind: str
    size_bytes: int
    sha256: str
    uploaded_at: datetime
    download_url: str


class InformationRequestOut(BaseModel):
    """A question during triage and its answer."""

    question: str
    requested_at: datetime
    answer: str | None
    answered_at: datetime | None


class OpinionOut(BaseModel):
    """A consultant's opinion."""

    id: int
    author: Ref
    body: str
    created_at: datetime


class CaseOut(CaseSummaryOut):
    """A whole case, as the caller may see it, with what they may do next."""

    referring_center: Ref
    referrer: Ref
    stage: str | None
    treatment_so_far: str
    clinical_question: str
    triage_note: str | None
    created_at: datetime
    session_id: int | None
    discussed_in_session_id: int | None
    allowed_actions: list[CaseAction]
    attachments: list[AttachmentOut]
    information_requests: list[InformationRequestOut]
    opinions: list[OpinionOut]
    has_recommendation: bool


class CaseListOut(BaseModel):
    """A page of cases."""

    cases: list[CaseSummaryOut]
    total: int
    page: int
    page_size: int


class QueueEntryOut(BaseModel):
    """A case waiting for a coordinator."""

    case: CaseSummaryOut
    waiting_hours: float
    due_at: datetime
    overdue: bool


class QueueOut(BaseModel):
    """A page of the coordinators' queue, urgent first, longest waiting first."""

    entries: list[QueueEntryOut]
    total: int
    page: int
    page_size: int


class RecommendationOut(BaseModel):
    """The nota de interconsulta."""

    case_code: str
    session_id: int
    chair_user_id: str
    diagnostic_criteria: str
    suggested_studies: str
    treatment_suggestions: str
    issued_at: datetime
    signatories: list[Ref]


# ---------------------------------------------------------------- shaping


def summary_of(case: Case | CaseSummary) -> CaseSummaryOut:
    """The list view of a case."""
    return CaseSummaryOut(
        code=case.code,
        status=CaseStatus(case.status),
        urgency=Urgency(case.urgency),
        specialty=case.specialty,
        referring_center_id=case.referring_center_id,
        patient=patient_out(case),
        diagnosis=case.diagnosis,
        icd10_code=case.icd10_code,
        submitted_at=case.submitted_at,
        updated_at=case.updated_at,
    )


def patient_out(case: Case | CaseSummary) -> PatientOut:
    """The case's patient, by pseudonym only."""
    return PatientOut(
        initials=case.patient_initials,
        age_years=case.patient_age_years,
        age_months=case.patient_age_months,
        sex=Sex(case.patient_sex),
    )


def attachment_out(case: Case, attachment: Attachment) -> AttachmentOut:
    """An attachment with its download address."""
    return AttachmentOut(
        id=attachment.id,
        filename=attachment.filename,
        kind=attachment.kind,
        size_bytes=attachment.size_bytes,
        sha256=attachment.sha256,
        uploaded_at=attachment.uploaded_at,
        download_url=f"/api/cases/{case.code}/attachments/{attachment.id}",
    )


async def case_out(db: AsyncSession, who: Caller, view: CaseView) -> CaseOut:
    """The whole case for `who`."""
    case = view.case
    center = await db.get(Center, case.referring_center_id)
    current = view.current_session()
    found = await opinions.recommendation_of(db, case.id)
    return CaseOut(
        **summary_of(case).model_dump(),
        referring_center=Ref(id=str(case.referring_center_id), name=center.name if center else ""),
        referrer=Ref(id=case.referrer_user_id, name=case.referrer.display_name),
        stage=case.stage,
        treatment_so_far=case.treatment_so_far,
        clinical_question=case.clinical_question,
        triage_note=case.triage_note,
        created_at=case.created_at,
        session_id=int(current.session_id) if current else None,
        discussed_in_session_id=case.discussed_in_session_id,
        allowed_actions=view.allowed_actions(who),
        attachments=[attachment_out(case, a) for a in await attachments.list_for(db, case.id)],
        information_requests=[
            InformationRequestOut(
                question=r.question,
                requested_at=r.requested_at,
                answer=r.answer,
                answered_at=r.answered_at,
            )
            for r in await case_steps.information_requests(db, case.id)
        ],
        opinions=[
            OpinionOut(
                id=o.id,
                author=Ref(id=o.author_user_id, name=o.author.display_name),
                body=o.body,
                created_at=o.created_at,
            )
            for o in await opinions.opinions_of(db, case.id)
        ],
        has_recommendation=found is not None,
    )


def case_code(request: web.Request) -> str:
    """The `{code}` of the path, normalized; a malformed code is simply not found."""
    try:
        year, number = parse_case_code(request.match_info["code"])
    except ValueError:
        raise NotFound("no such case") from None
    return f"JC-{year:04d}-{number:06d}"



def recommendation_out(case: Case, recommendation: Any, signers: list[Any]) -> RecommendationOut:
    """The recommendation as the API shows it."""
    return RecommendationOut(
        case_code=case.code,
        session_id=recommendation.session_id,
        chair_user_id=recommendation.chair_user_id,
        diagnostic_criteria=recommendation.diagnostic_criteria,
        suggested_studies=recommendation.suggested_studies,
        treatment_suggestions=recommendation.treatment_suggestions,
        issued_at=recommendation.issued_at,
        signatories=[Ref(id=u.id, name=u.display_name) for u in signers],
    )

