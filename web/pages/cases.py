"""The casebook's pages for people: the referrer's guided case form and status page, the
coordinators' queue and triage, the chair's recommendation form.

Handlers call the same `casebook` services as the JSON API (so authorization, audit and
notifications are the same code); a refused step re-renders the page with a translated reason.
Forms post with the CSRF token; the scripts under /static/js/casebook/ only improve on them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, NamedTuple

from aiohttp import BodyPartReader, web
from markupsafe import Markup
from multidict import MultiDictProxy
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import attachments, cases, opinions, queue, review_sessions
from casebook.access import can_add_opinion
from casebook.cases import Caller, CaseNotFound, CaseView
from casebook.clock import utcnow
from casebook.errors import CasebookError
from casebook.identifiers import Finding, IdentifiersFound
from casebook.models import AuditEvent, CaseStatus, ReviewSession, Role, Sex
from casebook.storage import FileTooLarge
from casebook.triage import Urgency
from casebook.workflow import CaseAction
from web.api.cases import (
    AcceptIn,
    AnswerIn,
    CaseDraftIn,
    OpinionIn,
    QuestionIn,
    RecommendationIn,
    RejectIn,
    case_code,
    case_out,
)
from web.app.keys import (
    FILE_STORE,
    NOTIFIER,
    REFUSED_CASE_CODE,
    SESSIONS,
    SETTINGS,
)
from web.app.service_targets import service_targets
from web.http.csrf import CSRF_HEADER
from web.http.errors import CASEBOOK_STATUS
from web.http.page_routes import (
    PageRoute,
    blank_to_none,
    form_fields,
    local_time,
    parse_form,
    render_page,
    text_fields,
)
from web.http.routes import CLINICAL, CLINICAL_READERS, COORDINATORS, caller
from web.http.short_reads import read_connection
from web.render.case_labels import labels
from web.render.queue_lines import queue_rows

CASE_FIELDS = [
    "patient_initials", "patient_age_years", "patient_age_months", "patient_sex", "diagnosis",
    "icd10_code", "stage", "treatment_so_far", "clinical_question", "urgency",
]
# Transitions (and the draft's creation) shown on the case's timeline, from its audit trail.
TIMELINE_ACTIONS = ["case.created", *(a.audit_action for a in CaseAction)]
# Sessions that started this long ago can still take a case (a board running late).
SCHEDULE_WINDOW = timedelta(hours=12)


def N_(message: str) -> str:
    """Mark `message` for translation; templates translate it when shown."""
    return message


# Why a step was refused, by the service's error code (shown translated on the page).
REFUSALS = {
    "illegal_transition": N_(
        "This step is not possible now: the case may have changed. Reload the page."
    ),
    "not_allowed": N_("You may not take this step on this case."),
    "invalid_signatory": N_("Signatories must be consultants who took part in the session."),
    "too_large": N_("The file is too large."),
    "unsupported_type": N_("Only PDF, JPEG, PNG and DICOM files can be attached."),
    "unknown_user": N_("One of the chosen people cannot take part."),
    "invalid_chair": N_("The chair must be a coordinator, specialist or lecturer."),
    "session_not_empty": N_("Take the cases off the agenda before cancelling the session."),
    "invalid_form": N_("Check the highlighted fields."),
    "not_found": N_("There is no such case or session, or it is not yours to see."),
    "no_file": N_("Choose a file to attach."),
    "not_editable": N_("Only a draft can be edited; this case has already been sent."),
    "identifiers_found": N_(
        "The case must not identify the patient. Remove what is listed below and try again;"
        " nothing you wrote was lost."
    ),
}
# Where and what `casebook.identifiers` found, as the referrer's page names them.
FINDING_FIELDS = {
    "diagnosis": N_("Diagnosis"),
    "stage": N_("Stage / risk group"),
    "treatment_so_far": N_("Treatment so far"),
    "clinical_question": N_("Clinical question"),
    "attachments": N_("File name"),
}
FINDING_KINDS = {
    "curp": N_("a CURP"),
    "nss": N_("a social security number (NSS)"),
    "phone": N_("a phone number"),
    "email": N_("an e-mail address"),
    "name": N_("the patient's name"),
}


def refusal_of(error: CasebookError) -> tuple[str, int]:
    """The page message and HTTP status for a refused step."""
    message = REFUSALS.get(error.code, N_("The request could not be processed"))
    return message, CASEBOOK_STATUS.get(error.code, 400)


def findings_of(error: CasebookError) -> list[dict[str, str]]:
    """The identifiers a refusal found, for the page (masked; labels translated there)."""
    if not isinstance(error, IdentifiersFound):
        return []
    return finding_rows(error.findings)


def finding_rows(findings: Sequence[Finding]) -> list[dict[str, str]]:
    """Findings as the pages list them (masked; labels translated there)."""
    return [
        {
            "field": f.field,
            "field_label": FINDING_FIELDS.get(f.field, f.field),
            "kind": FINDING_KINDS[f.kind.value],
            "masked": f.masked,
        }
        for f in findings
    ]


# ---------------------------------------------------------------- lists

# Rows of long tables are objects, not dicts: Jinja's `row.code` tries the attribute first and
# a dict answers that with an exception, per cell (most of a 50-row page's rendering time).


class CaseLine(NamedTuple):
    """A row of the case list, ready to show."""

    code: str
    status: str
    urgency: str
    diagnosis: str
    icd10: str
    center: str
    updated: str


async def case_list(request: web.Request) -> web.StreamResponse:
    """The cases the user may see, newest first (a referrer: their center's)."""
    who = caller(request)
    status = request.query.get("status") or None
    status_filter = CaseStatus(status) if status in set(CaseStatus) else None
    page = _page_number(request)

    # One statement reads the page, one appends its audit event; the page renders while the
    # event is written and leaves once it is committed.
    async def reply(found: cases.CasePage) -> web.Response:
        rows = [
            CaseLine(
                code=c.code,
                status=c.status,
                urgency=c.urgency,
                diagnosis=c.diagnosis,
                icd10=c.icd10_code,
                center=c.referring_center_name,
                updated=local_time(c.updated_at),
            )
            for c in found.cases
        ]
        return await render_page(
            request,
            "cases_list.html",
            {
                "rows": rows,
                "status": status_filter.value if status_filter else "",
                "statuses": [s.value for s in CaseStatus],
                "page": found.page,
                "pages": max(1, -(-found.total // found.page_size)),
                "total": found.total,
                "may_create": who.role in CLINICAL,
            },
        )

    async with read_connection(request) as db:
        return await cases.list_cases(
            db, who, status=status_filter, page=page, page_size=25, reply=reply
        )


def _page_number(request: web.Request) -> int:
    raw = request.query.get("page", "1")
    return min(int(raw), 10_000) if raw.isdigit() and int(raw) >= 1 else 1


# ---------------------------------------------------------------- the guided form


def form_context(
    values: dict[str, str],
    errors: list[str],
    error: str | None,
    findings: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    return {
        "findings": findings or [],
        "values": values,
        "errors": errors,
        "error": error,
        "sexes": [s.value for s in Sex],
        "urgencies": [u.value for u in Urgency],
    }


async def new_case_form(request: web.Request) -> web.StreamResponse:
    """Step 1 of the guided form: the patient's pseudonym and the clinical question."""
    return await render_page(request, "cases_new.html", form_context({}, [], None))


async def create_case(request: web.Request) -> web.StreamResponse:
    """Save the draft and go on to step 2 (attachments, then submission)."""
    who = caller(request)
    form = await form_fields(request)
    values = text_fields(form, CASE_FIELDS)
    data: dict[str, Any] = blank_to_none(dict(values), "stage", "patient_age_months")
    body, errors = parse_form(CaseDraftIn, data)
    if body is None:
        context = form_context(values, errors, REFUSALS["invalid_form"])
        return await render_page(request, "cases_new.html", context, status=400)
    async with request.app[SESSIONS]() as db:
        case = await cases.create_draft(db, who, body.model_dump())
        code = case.code
        await db.commit()
    raise web.HTTPSeeOther(f"/cases/{code}")


# ---------------------------------------------------------------- the case page


async def case_page(
    request: web.Request,
    *,
    error: str | None = None,
    status: int = 200,
    findings: list[dict[str, str]] | None = None,
) -> web.Response:
    """A case as the user may see it: status, timeline, requests, files, the recommendation,
    and the forms for the steps they may take now. Audited as `case.read`."""
    who = caller(request)
    code = case_code(request)
    async with request.app[SESSIONS]() as db:
        view = await cases.read(db, who, code)
        out = await case_out(db, who, view)
        recommendation = None
        if out.has_recommendation:
            found, signers = await opinions.read(db, who, view)
            recommendation = {
                "criteria": found.diagnostic_criteria,
                "studies": found.suggested_studies,
                "treatment": found.treatment_suggestions,
                "issued": local_time(found.issued_at),
                "signers": [u.display_name for u in signers],
            }
        context = {
            "case": out,
            "error": error,
            "findings": findings or [],
            "recommendation": recommendation,
            "timeline": await timeline(db, code),
            "actions": {a.value for a in out.allowed_actions},
            "may_upload": attachments.may_upload(who, view),
            "may_edit": cases.may_edit(who, view),
            "may_opine": can_add_opinion(who.person, view.facts),
            "session": await _session_of(db, view),
            "schedule_sessions": await _schedulable(db, who, out.status),
            "signatory_choices": await _signatory_choices(db, who, view, out.allowed_actions),
            "times": {
                "submitted": local_time(out.submitted_at),
                "updated": local_time(out.updated_at),
            },
            "requests": [
                {
                    "question": r.question,
                    "asked": local_time(r.requested_at),
                    "answer": r.answer,
                    "answered": local_time(r.answered_at),
                }
                for r in out.information_requests
            ],
            "opinions": [
                {"author": o.author.name, "body": o.body, "at": local_time(o.created_at)}
                for o in out.opinions
            ],
            "urgencies": [u.value for u in Urgency],
            "max_mb": request.app[SETTINGS].max_attachment_mb,
        }
        await db.commit()
    return await render_page(request, "cases_detail.html", context, status=status)


async def show_case(request: web.Request) -> web.StreamResponse:
    """GET the case page."""
    return await case_page(request)


async def timeline(db: AsyncSession, code: str) -> list[dict[str, str]]:
    """The case's steps from its audit trail (actions and times only: no clinical content)."""
    events = await db.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.target_type == "case",
            AuditEvent.target_id == code,
            AuditEvent.action.in_(TIMELINE_ACTIONS),
        )
        .order_by(AuditEvent.id)
    )
    return [{"action": e.action, "at": local_time(e.at)} for e in events]


async def _session_of(db: AsyncSession, view: CaseView) -> dict[str, Any] | None:
    current = view.current_session()
    if current is None:
        return None
    session = await db.get(ReviewSession, int(current.session_id))
    if session is None:
        return None
    return {"id": session.id, "title": session.title, "starts": local_time(session.starts_at)}


async def _schedulable(db: AsyncSession, who: Caller, status: CaseStatus) -> list[dict[str, Any]]:
    """Sessions a coordinator may put an accepted case on (not long past)."""
    if who.role is not Role.COORDINATOR or status is not CaseStatus.ACCEPTED:
        return []
    return await upcoming_sessions(db, who)


async def upcoming_sessions(db: AsyncSession, who: Caller) -> list[dict[str, Any]]:
    """The sessions still ahead (or just begun), for the scheduling forms."""
    found = await review_sessions.schedule_choices(db, who, since=utcnow() - SCHEDULE_WINDOW)
    return [session_choice(s) for s in found]


def session_choice(choice: review_sessions.SessionChoice) -> dict[str, Any]:
    """A session as a scheduling form offers it."""
    return {"id": choice.id, "title": choice.title, "starts": local_time(choice.starts_at)}


async def _signatory_choices(
    db: AsyncSession, who: Caller, view: CaseView, allowed: list[CaseAction]
) -> list[dict[str, str]]:
    """Who may co-sign the nota: the discussing session's consultants (not the chair)."""
    current = view.current_session()
    if CaseAction.ISSUE_RECOMMENDATION not in allowed or current is None:
        return []
    return [
        {"id": u.id, "name": u.display_name}
        for u in await opinions.signatory_choices(db, current)
        if u.id != who.user_id
    ]


# ---------------------------------------------------------------- steps

Step = Callable[[AsyncSession, Caller, CaseView, MultiDictProxy[Any]], Awaitable[str | None]]


class InvalidForm(CasebookError):
    """The step's form does not fit its model."""

    def __init__(self) -> None:
        super().__init__("invalid_form", "check the form")


async def _run_step(request: web.Request, step: Step) -> web.StreamResponse:
    """Take a step on the case; afterwards go to where it says (or back to the case)."""
    who = caller(request)
    code = case_code(request)
    form = await form_fields(request)
    try:
        async with request.app[SESSIONS]() as db:
            view = await cases.find_visible(db, who, code)
            async with cases.keeping_refusal_audit(db):
                target = await step(db, who, view, form)
            await db.commit()
    except CasebookError as error:
        if error.code == "not_found":
            raise
        message, status = refusal_of(error)
        return await case_page(request, error=message, status=status, findings=findings_of(error))
    raise web.HTTPSeeOther(target or f"/cases/{code}")


def _parsed(model: Any, form: MultiDictProxy[Any], names: list[str], *optional: str) -> Any:
    data: dict[str, Any] = blank_to_none(text_fields(form, names), *optional)
    body, _fields = parse_form(model, data)
    if body is None:
        raise InvalidForm()
    return body


def _handler(build: Callable[[web.Request], Step]) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await _run_step(request, build(request))

    return handler


def _submit_like(action: CaseAction) -> Any:
    def build(request: web.Request) -> Step:
        notifier = request.app[NOTIFIER]

        async def step(
            db: AsyncSession, who: Caller, view: CaseView, form: MultiDictProxy[Any]
        ) -> str | None:
            if action is CaseAction.SUBMIT:
                await cases.submit(db, who, view, notifier)
            elif action is CaseAction.WITHDRAW:
                await cases.withdraw(db, who, view, notifier)
            else:
                await cases.close(db, who, view, notifier)
            return None

        return step

    return _handler(build)


def _with_form(request: web.Request) -> Step:
    """The steps that take a form, chosen by the route's last path segment."""
    notifier = request.app[NOTIFIER]
    kind = request.match_info.route.name or ""

    async def step(
        db: AsyncSession, who: Caller, view: CaseView, form: MultiDictProxy[Any]
    ) -> str | None:
        if kind == "page-case-answer":
            answer = _parsed(AnswerIn, form, ["answer"])
            await cases.answer_information(db, who, view, answer.answer, notifier)
        elif kind == "page-case-request-information":
            question = _parsed(QuestionIn, form, ["question"])
            await cases.request_information(db, who, view, question.question, notifier)
        elif kind == "page-case-accept":
            accept = _parsed(AcceptIn, form, ["urgency", "specialty", "note"], "note")
            await cases.accept(
                db, who, view, urgency=accept.urgency, specialty=accept.specialty,
                note=accept.note, notifier=notifier,
            )
        elif kind == "page-case-reject":
            reject = _parsed(RejectIn, form, ["note"])
            await cases.reject(db, who, view, reject.note, notifier)
        elif kind == "page-case-opinion":
            opinion = _parsed(OpinionIn, form, ["body"])
            await opinions.add_opinion(db, who, view, opinion.body)
        elif kind == "page-case-recommendation":
            data: dict[str, Any] = text_fields(
                form, ["diagnostic_criteria", "suggested_studies", "treatment_suggestions"]
            )
            data["signatories"] = [
                v for v in form.getall("signatories", []) if isinstance(v, str)
            ]
            body, _fields = parse_form(RecommendationIn, data)
            if body is None:
                raise InvalidForm()
            await opinions.issue(
                db, who, view,
                diagnostic_criteria=body.diagnostic_criteria,
                suggested_studies=body.suggested_studies,
                treatment_suggestions=body.treatment_suggestions,
                signatory_ids=body.signatories,
                notifier=notifier,
            )
        elif kind == "page-case-schedule":
            raw = form.get("session")
            if not isinstance(raw, str) or not raw.isdigit() or not 1 <= int(raw) < 2**31:
                raise InvalidForm()
            session = await review_sessions.find_visible(db, who, int(raw))
            await review_sessions.schedule(db, who, session, view, notifier)
            back = form.get("next")
            return "/queue" if back == "queue" else None
        else:  # pragma: no cover - only the routes registered below
            raise AssertionError(kind)
        return None

    return step


# ---------------------------------------------------------------- attachments


async def upload_attachment(request: web.Request) -> web.StreamResponse:
    """Attach a file. With the page's script the body streams (any allowed size); a plain form
    post is read whole first by the CSRF check, so without the script files are capped at the
    request limit."""
    who = caller(request)
    code = case_code(request)
    store = request.app[FILE_STORE]
    try:
        async with request.app[SESSIONS]() as db:
            view = await cases.find_visible(db, who, code)
            attachments.require_upload(who, view)
            if request.content_length is not None and request.content_length > (
                store.max_bytes + 64 * 1024
            ):
                raise FileTooLarge(store.max_bytes)
            filename, chunks = await _upload_source(request)
            async with cases.keeping_refusal_audit(db):
                await attachments.upload(db, who, view, store, filename, chunks)
            await db.commit()
    except CasebookError as error:
        if error.code == "not_found":
            raise
        message, status = refusal_of(error)
        return await case_page(request, error=message, status=status, findings=findings_of(error))
    raise web.HTTPSeeOther(f"/cases/{code}")


class NoFile(CasebookError):
    """The form came without a file."""

    def __init__(self) -> None:
        super().__init__("no_file", "no file in the form")


async def _upload_source(request: web.Request) -> tuple[str | None, AsyncIterator[bytes]]:
    if not request.content_type.startswith("multipart/"):
        raise NoFile()
    if request.headers.get(CSRF_HEADER) is None:
        # The CSRF check has parsed the form already (the token travels in a field).
        field = (await request.post()).get("file")
        if not isinstance(field, web.FileField):
            raise NoFile()
        return field.filename, _file_chunks(field)
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if isinstance(part, BodyPartReader) and part.name == "file":
                return part.filename, _part_chunks(part)
            if isinstance(part, BodyPartReader):
                await part.release()
    except (ValueError, AssertionError):
        raise NoFile() from None
    raise NoFile()


async def _file_chunks(field: web.FileField) -> AsyncIterator[bytes]:
    while chunk := field.file.read(64 * 1024):
        yield chunk


async def _part_chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(64 * 1024):
        yield chunk


# ---------------------------------------------------------------- the queue

SESSION_OPTION = Markup('<option value="{}">{} · {}</option>')


async def queue_page(request: web.Request) -> web.StreamResponse:
    """The coordinators' queue: urgent first, then longest waiting; overdue cases flagged."""
    return await _queue_reply(request)


# How many cases one scheduling form may carry: a queue page's worth.
MAX_SCHEDULED_AT_ONCE = 50


async def schedule_from_queue(request: web.Request) -> web.StreamResponse:
    """Put the accepted cases ticked on the queue onto one review session: all of them, or none
    (the page then names the case that could not go and why)."""
    who = caller(request)
    form = await form_fields(request)
    raw = form.get("session")
    codes = list(dict.fromkeys(v.strip() for v in form.getall("case", []) if isinstance(v, str)))
    if not isinstance(raw, str) or not raw.isdigit() or not 1 <= int(raw) < 2**31:
        return await _queue_reply(request, error=N_("Choose the review session."), status=400)
    if not codes:
        return await _queue_reply(
            request, error=N_("Tick the accepted cases to schedule."), status=400
        )
    if len(codes) > MAX_SCHEDULED_AT_ONCE:
        return await _queue_reply(
            request, error=N_("Schedule at most one page of cases at a time."), status=400
        )
    notifier = request.app[NOTIFIER]
    code = ""
    try:
        async with request.app[SESSIONS]() as db:
            session = await review_sessions.find_visible(db, who, int(raw))
            for code in codes:
                request[REFUSED_CASE_CODE] = code  # if refused, the audit names it
                view = await cases.find_visible(db, who, code)
                await review_sessions.schedule(db, who, session, view, notifier)
            await db.commit()
    except CasebookError as error:
        if isinstance(error, CaseNotFound):
            raise  # 404, and audited as a refused access (web.http.refusals)
        message, status = refusal_of(error)
        return await _queue_reply(request, error=message, failed=code, status=status)
    raise web.HTTPSeeOther("/queue")


async def _queue_reply(
    request: web.Request, *, error: str | None = None, failed: str = "", status: int = 200
) -> web.Response:
    """The queue page; `error` (untranslated) above it, naming the case `failed` if one did."""
    who = caller(request)

    async def reply(found: queue.QueuePage) -> web.Response:
        # The scheduling form only when the page has accepted cases to put on a session.
        accepted = any(r.case.status == CaseStatus.ACCEPTED.value for r in found.rows)
        choices = [session_choice(s) for s in found.session_choices] if accepted else []
        return await render_page(
            request,
            "queue.html",
            {
                "rows": found.rows,
                "queue_rows": queue_rows(
                    found.rows, labels=labels(request), scheduling=bool(choices)
                ),
                "sessions": choices,
                # Built here once: the options of the one scheduling form.
                "session_options": Markup("").join(
                    SESSION_OPTION.format(s["id"], s["title"], s["starts"]) for s in choices
                ),
                "page": found.page,
                "pages": max(1, -(-found.total // found.page_size)),
                "total": found.total,
                "overdue_count": sum(1 for r in found.rows if r.entry.overdue),
                "error": error,
                "failed": failed,
            },
            status=status,
        )

    # The form's sessions come with the queue's rows, in its statement; the page renders while
    # its audit event is written.
    now = utcnow()
    async with read_connection(request) as db:
        return await queue.coordinator_queue(
            db, who, now, targets=service_targets(request.app[SETTINGS]),
            page=_page_number(request), page_size=50, choices_since=now - SCHEDULE_WINDOW,
            reply=reply,
        )


# ---------------------------------------------------------------- the route table

CASE_PAGE = "/cases/{code}"


def routes() -> list[PageRoute]:
    """The case and queue pages."""
    form_step = _handler(_with_form)
    return [
        PageRoute("GET", "/cases", case_list, "page-cases", CLINICAL_READERS, short_read=True),
        PageRoute("GET", "/cases/new", new_case_form, "page-case-new", CLINICAL),
        PageRoute("POST", "/cases/new", create_case, "page-case-create", CLINICAL),
        PageRoute("GET", CASE_PAGE, show_case, "page-case", CLINICAL_READERS),
        PageRoute("POST", f"{CASE_PAGE}/submit", _submit_like(CaseAction.SUBMIT),
                  "page-case-submit", CLINICAL),
        PageRoute("POST", f"{CASE_PAGE}/withdraw", _submit_like(CaseAction.WITHDRAW),
                  "page-case-withdraw", CLINICAL),
        PageRoute("POST", f"{CASE_PAGE}/close", _submit_like(CaseAction.CLOSE),
                  "page-case-close", CLINICAL),
        PageRoute("POST", f"{CASE_PAGE}/answer", form_step, "page-case-answer", CLINICAL),
        PageRoute("POST", f"{CASE_PAGE}/request-information", form_step,
                  "page-case-request-information", COORDINATORS),
        PageRoute("POST", f"{CASE_PAGE}/accept", form_step, "page-case-accept", COORDINATORS),
        PageRoute("POST", f"{CASE_PAGE}/reject", form_step, "page-case-reject", COORDINATORS),
        PageRoute("POST", f"{CASE_PAGE}/schedule", form_step, "page-case-schedule",
                  COORDINATORS),
        PageRoute("POST", f"{CASE_PAGE}/opinions", form_step, "page-case-opinion",
                  frozenset({Role.COORDINATOR, Role.SPECIALIST, Role.LECTURER})),
        PageRoute("POST", f"{CASE_PAGE}/recommendation", form_step, "page-case-recommendation",
                  CLINICAL),
        PageRoute("POST", f"{CASE_PAGE}/attachments", upload_attachment,
                  "page-case-attachments", CLINICAL),
        PageRoute("GET", "/queue", queue_page, "page-queue", COORDINATORS, short_read=True),
        PageRoute(
            "POST", "/queue/schedule", schedule_from_queue, "page-queue-schedule", COORDINATORS
        ),
    ]
