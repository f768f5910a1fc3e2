"""The cases API: drafts, the workflow, listing, the coordinators' queue, attachments, opinions
and the recommendation. Handlers parse (pydantic), call a `casebook` service, shape the reply.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from aiohttp import BodyPartReader, web
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import attachments, cases, opinions, queue
from casebook.case_code import parse_case_code
from casebook.case_listing import CaseSummary
from casebook.cases import Caller, CaseView
from casebook.clock import utcnow
from casebook.filetypes import MEDIA_TYPES
from casebook.models import Attachment, AttachmentKind, Case, CaseStatus, Center, Role, Sex
from casebook.storage import FileTooLarge
from casebook.summaries import normalize_initials
from casebook.triage import Urgency
from casebook.workflow import CaseAction
from web.app.keys import FILE_STORE, NOTIFIER, SESSIONS, SETTINGS
from web.app.service_targets import service_targets
from web.http.auth import require_user
from web.http.errors import NotFound, WebError
from web.http.routes import (
    CLINICAL,
    CLINICAL_READERS,
    COORDINATORS,
    MAX_ID,
    ApiRoute,
    Text,
    caller,
    int_param,
    json_reply,
    parse_body,
    parse_query,
)
from web.http.short_reads import read_connection

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
            for r in await cases.information_requests(db, case.id)
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


async def _reload(db: AsyncSession, who: Caller, code: str) -> CaseOut:
    # The actor may no longer see the case after acting (e.g. withdrawing a draft stays
    # visible; but be safe): the reply is what they may see now.
    return await case_out(db, who, await cases.find_visible(db, who, code))


# ---------------------------------------------------------------- handlers


async def create_case(request: web.Request) -> web.StreamResponse:
    """Create a draft case of the caller's center."""
    who = caller(request)
    body = await parse_body(request, CaseDraftIn)
    async with request.app[SESSIONS]() as db:
        case = await cases.create_draft(db, who, body.model_dump())
        code = case.code
        reply = await _reload(db, who, code)
        await db.commit()
    return json_reply(reply, status=201)


async def list_cases(request: web.Request) -> web.StreamResponse:
    """The cases the caller may see."""
    who = caller(request)
    query = parse_query(request, CaseListQuery)
    # One statement reads the page, one appends its audit event; the reply is built while the
    # event is written and leaves once it is committed.
    async def reply(page: cases.CasePage) -> web.StreamResponse:
        return json_reply(
            CaseListOut(
                cases=[summary_of(c) for c in page.cases],
                total=page.total,
                page=page.page,
                page_size=page.page_size,
            )
        )

    async with read_connection(request) as db:
        return await cases.list_cases(
            db,
            who,
            status=query.status,
            urgency=query.urgency,
            center_id=query.center,
            page=query.page,
            page_size=query.page_size,
            reply=reply,
        )


async def get_case(request: web.Request) -> web.StreamResponse:
    """One case by its public code."""
    who = caller(request)
    code = case_code(request)
    async with request.app[SESSIONS]() as db:
        view = await cases.read(db, who, code)
        reply = await case_out(db, who, view)
        await db.commit()
    return json_reply(reply)


async def edit_case(request: web.Request) -> web.StreamResponse:
    """Change a draft."""
    who = caller(request)
    code = case_code(request)
    async with request.app[SESSIONS]() as db:
        view = await cases.find_visible(db, who, code)
        body = await parse_body(request, CaseEditIn)
        changes = body.model_dump(exclude_unset=True, exclude_none=True)
        await cases.edit_draft(db, who, view, changes)
        reply = await _reload(db, who, code)
        await db.commit()
    return json_reply(reply)


def _transition(
    action: CaseAction, model: type[BaseModel] | None
) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        who = caller(request)
        code = case_code(request)
        notifier = request.app[NOTIFIER]
        async with request.app[SESSIONS]() as db:
            view = await cases.find_visible(db, who, code)
            body: Any = await parse_body(request, model) if model is not None else None
            if action is CaseAction.SUBMIT:
                async with cases.keeping_refusal_audit(db):
                    await cases.submit(db, who, view, notifier)
            elif action is CaseAction.REQUEST_INFORMATION:
                await cases.request_information(db, who, view, body.question, notifier)
            elif action is CaseAction.ANSWER_INFORMATION:
                await cases.answer_information(db, who, view, body.answer, notifier)
            elif action is CaseAction.ACCEPT:
                await cases.accept(
                    db, who, view, urgency=body.urgency, specialty=body.specialty,
                    note=body.note, notifier=notifier,
                )
            elif action is CaseAction.REJECT:
                await cases.reject(db, who, view, body.note, notifier)
            elif action is CaseAction.WITHDRAW:
                await cases.withdraw(db, who, view, notifier)
            elif action is CaseAction.CLOSE:
                await cases.close(db, who, view, notifier)
            else:  # pragma: no cover - only the actions registered below
                raise AssertionError(action)
            await db.flush()
            reply = await _reload(db, who, code)
            await db.commit()
        return json_reply(reply)

    handler.__doc__ = f"Take the `{action.value}` step of the workflow."
    return handler


async def coordinator_queue(request: web.Request) -> web.StreamResponse:
    """The coordinators' queue with overdue flags."""
    who = caller(request)
    query = parse_query(request, QueueQuery)
    async def reply(page: queue.QueuePage) -> web.StreamResponse:
        return json_reply(
            QueueOut(
                entries=[
                    QueueEntryOut(
                        case=summary_of(row.case),
                        waiting_hours=round(row.entry.waiting.total_seconds() / 3600, 2),
                        due_at=row.entry.due_at,
                        overdue=row.entry.overdue,
                    )
                    for row in page.rows
                ],
                total=page.total,
                page=page.page,
                page_size=page.page_size,
            )
        )

    async with read_connection(request) as db:
        return await queue.coordinator_queue(
            db, who, utcnow(), targets=service_targets(request.app[SETTINGS]),
            page=query.page, page_size=query.page_size, reply=reply,
        )


async def upload_attachment(request: web.Request) -> web.StreamResponse:
    """Attach a file (multipart field `file`), streamed, checked by content and hashed."""
    who = caller(request)
    code = case_code(request)
    store = request.app[FILE_STORE]
    async with request.app[SESSIONS]() as db:
        view = await cases.find_visible(db, who, code)
        attachments.require_upload(who, view)
        if request.content_length is not None and request.content_length > store.max_bytes + (
            64 * 1024
        ):
            raise FileTooLarge(store.max_bytes)
        part = await _file_part(request)
        async with cases.keeping_refusal_audit(db):
            attachment = await attachments.upload(
                db, who, view, store, part.filename, _chunks(part)
            )
        reply = attachment_out(view.case, attachment)
        await db.commit()
    return json_reply(reply, status=201)


async def _file_part(request: web.Request) -> BodyPartReader:
    if not request.content_type.startswith("multipart/"):
        raise WebError(400, "invalid_request", "send the file as multipart/form-data field `file`")
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if isinstance(part, BodyPartReader) and part.name == "file":
                return part
            if isinstance(part, BodyPartReader):
                await part.release()
    except (ValueError, AssertionError) as error:
        raise WebError(400, "invalid_request", f"malformed multipart body: {error}") from None
    raise WebError(400, "invalid_request", "no multipart field named `file`")


async def _chunks(part: BodyPartReader) -> Any:
    while chunk := await part.read_chunk(64 * 1024):
        yield chunk


async def download_attachment(request: web.Request) -> web.StreamResponse:
    """Download an attachment (audited)."""
    who = caller(request)
    code = case_code(request)
    attachment_id = int_param(request, "attachment_id")
    store = request.app[FILE_STORE]
    async with request.app[SESSIONS]() as db:
        view = await cases.find_visible(db, who, code)
        try:
            attachment, path = await attachments.open_for_download(
                db, who, view, store, attachment_id
            )
        except FileNotFoundError:
            raise WebError(410, "file_missing", "the stored file is missing") from None
        await db.commit()
    return web.FileResponse(
        path,
        headers={
            "Content-Type": MEDIA_TYPES[AttachmentKind(attachment.kind)],
            "Content-Disposition": f'attachment; filename="attachment-{attachment.id}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def add_opinion(request: web.Request) -> web.StreamResponse:
    """Add a consultant's opinion."""
    who = caller(request)
    code = case_code(request)
    async with request.app[SESSIONS]() as db:
        view = await cases.find_visible(db, who, code)
        body = await parse_body(request, OpinionIn)
        opinion = await opinions.add_opinion(db, who, view, body.body)
        reply = OpinionOut(
            id=opinion.id,
            author=Ref(id=who.user_id, name=require_user(request).display_name),
            body=opinion.body,
            created_at=opinion.created_at,
        )
        await db.commit()
    return json_reply(reply, status=201)


async def issue_recommendation(request: web.Request) -> web.StreamResponse:
    """Issue the nota de interconsulta (the chair of the discussing session)."""
    who = caller(request)
    code = case_code(request)
    async with request.app[SESSIONS]() as db:
        view = await cases.find_visible(db, who, code)
        body = await parse_body(request, RecommendationIn)
        await opinions.issue(
            db,
            who,
            view,
            diagnostic_criteria=body.diagnostic_criteria,
            suggested_studies=body.suggested_studies,
            treatment_suggestions=body.treatment_suggestions,
            signatory_ids=body.signatories,
            notifier=request.app[NOTIFIER],
        )
        found = await opinions.recommendation_of(db, view.case.id)
        assert found is not None
        reply = recommendation_out(view.case, *found)
        await db.commit()
    return json_reply(reply, status=201)


async def get_recommendation(request: web.Request) -> web.StreamResponse:
    """The case's recommendation (audited)."""
    who = caller(request)
    code = case_code(request)
    async with request.app[SESSIONS]() as db:
        view = await cases.find_visible(db, who, code)
        recommendation, signers = await opinions.read(db, who, view)
        reply = recommendation_out(view.case, recommendation, signers)
        await db.commit()
    return json_reply(reply)


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


# ---------------------------------------------------------------- the route table

CASE = "/api/cases/{code}"


def _step(
    action: CaseAction,
    path: str,
    model: type[BaseModel] | None,
    roles: frozenset[Role],
    text: str,
) -> ApiRoute:
    return ApiRoute(
        "POST",
        f"{CASE}/{path}",
        _transition(action, model),
        name=f"api-case-{path}",
        summary=text.split(".")[0],
        description=text,
        roles=roles,
        body=model,
        response=CaseOut,
    )


def routes() -> list[ApiRoute]:
    """The cases API."""
    return [
        ApiRoute(
            "POST", "/api/cases", create_case, name="api-cases-create",
            summary="Create a draft case",
            description="A new draft of the caller's center, with the next public code.",
            roles=CLINICAL, body=CaseDraftIn, response=CaseOut, status=201,
        ),
        ApiRoute(
            "GET", "/api/cases", list_cases, name="api-cases-list",
            summary="List cases",
            description="The cases the caller may see, newest first, filtered and paginated.",
            roles=CLINICAL_READERS, query=CaseListQuery, response=CaseListOut,
            short_read=True,
        ),
        ApiRoute(
            "GET", "/api/queue", coordinator_queue, name="api-queue",
            summary="Coordinators' queue",
            description=(
                "Cases waiting for triage or scheduling: urgent first, then the longest waiting;"
                " each flagged when past its service target."
            ),
            roles=COORDINATORS, query=QueueQuery, response=QueueOut,
            short_read=True,
        ),
        ApiRoute(
            "GET", CASE, get_case, name="api-case",
            summary="Get a case",
            description="One case by its public code (404 for a case the caller may not see).",
            roles=CLINICAL_READERS, response=CaseOut,
        ),
        ApiRoute(
            "PATCH", CASE, edit_case, name="api-case-edit",
            summary="Edit a draft",
            description="Change a draft case's content; only its referrer, only in draft.",
            roles=CLINICAL, body=CaseEditIn, response=CaseOut,
        ),
        _step(CaseAction.SUBMIT, "submit", None, CLINICAL,
              "Submit the draft. The case's referrer sends it to the network for triage."),
        _step(CaseAction.REQUEST_INFORMATION, "request-information", QuestionIn, COORDINATORS,
              "Request information. A coordinator asks the referrer for more before triage."),
        _step(CaseAction.ANSWER_INFORMATION, "answer-information", AnswerIn, CLINICAL,
              "Answer the request. The referrer answers; the case returns to triage."),
        _step(CaseAction.ACCEPT, "accept", AcceptIn, COORDINATORS,
              "Accept the case. Triage: a coordinator sets urgency and specialty."),
        _step(CaseAction.REJECT, "reject", RejectIn, COORDINATORS,
              "Reject the case. Triage: a coordinator declines it, saying why."),
        _step(CaseAction.WITHDRAW, "withdraw", None, CLINICAL,
              "Withdraw the case. Its referrer (or a coordinator, once submitted) ends it."),
        _step(CaseAction.CLOSE, "close", None, CLINICAL,
              "Close the case. The recommendation was received and filed."),
        ApiRoute(
            "POST", f"{CASE}/attachments", upload_attachment, name="api-case-attachments",
            summary="Upload an attachment",
            description=(
                "A PDF, JPEG, PNG or DICOM file as multipart field `file`, recognized by its "
                "content; 413 when too large, 415 when of another type."
            ),
            roles=CLINICAL, multipart=True, response=AttachmentOut, status=201,
        ),
        ApiRoute(
            "GET", CASE + r"/attachments/{attachment_id:\d+}", download_attachment,
            name="api-case-attachment",
            summary="Download an attachment",
            description="The stored file, exactly as uploaded (the download is audited).",
            roles=CLINICAL_READERS, binary_response=True,
        ),
        ApiRoute(
            "POST", f"{CASE}/opinions", add_opinion, name="api-case-opinions",
            summary="Add an opinion",
            description="A consultant's opinion: coordinators or consultants invited to the case.",
            roles=frozenset({Role.COORDINATOR, Role.SPECIALIST, Role.LECTURER}),
            body=OpinionIn, response=OpinionOut, status=201,
        ),
        ApiRoute(
            "POST", f"{CASE}/recommendation", issue_recommendation,
            name="api-case-recommendation-issue",
            summary="Issue the recommendation",
            description=(
                "The nota de interconsulta, by the chair of the session that discussed the case,"
                " signed by the consultants of that session who agreed."
            ),
            roles=CLINICAL, body=RecommendationIn, response=RecommendationOut, status=201,
        ),
        ApiRoute(
            "GET", f"{CASE}/recommendation", get_recommendation, name="api-case-recommendation",
            summary="Get the recommendation",
            description="The case's nota de interconsulta (the read is audited).",
            roles=CLINICAL_READERS, response=RecommendationOut,
        ),
    ]
