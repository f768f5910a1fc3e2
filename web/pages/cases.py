"""The casebook's case pages for people: the case list, the referrer's guided form, and the
case page (status, timeline, requests, files, the recommendation, and the forms for the steps
the user may take now, handled by `web.pages.case_steps`).

Handlers call the same `casebook` services as the JSON API (so authorization, audit and
notifications are the same code). Forms post with the CSRF token; the scripts under
/static/js/casebook/ only improve on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, NamedTuple

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import attachments, case_drafts, cases, opinions, review_sessions, visible_cases
from casebook.access import can_add_opinion
from casebook.ascii_numbers import parse_ascii_int
from casebook.attachment_mentions import mentions_an_attachment
from casebook.cases import Caller, CaseView
from casebook.clock import utcnow
from casebook.models import AuditEvent, CaseStatus, ReviewSession, Role, Sex
from casebook.triage import Urgency
from casebook.workflow import CaseAction
from web.api.case_schemas import CaseDraftIn, case_code, case_out
from web.app.keys import SESSIONS, SETTINGS
from web.http.routes import CLINICAL, CLINICAL_READERS, MAX_ID, Route, caller, page_route
from web.pages.field_errors import FieldError
from web.pages.forms import blank_to_none, form_fields, parse_form, render_page, text_fields
from web.pages.refusal_messages import REFUSALS
from web.render.local_times import local_time

CASE_FIELDS = [
    "patient_initials", "patient_age_years", "patient_age_months", "patient_sex", "diagnosis",
    "icd10_code", "stage", "treatment_so_far", "clinical_question", "urgency",
]
# Transitions (and the draft's creation) shown on the case's timeline, from its audit trail.
TIMELINE_ACTIONS = ["case.created", *(a.audit_action for a in CaseAction)]
# Sessions that started this long ago can still take a case (a board running late).
SCHEDULE_WINDOW = timedelta(hours=12)


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
    page = page_number(request)

    async with request.app[SESSIONS]() as db:
        found = await visible_cases.list_cases(
            db, who, status=status_filter, page=page, page_size=25
        )
        await db.commit()
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


def page_number(request: web.Request) -> int:
    page = parse_ascii_int(request.query.get("page", "1"), 1, MAX_ID)
    return 1 if page is None else min(page, 10_000)


# ---------------------------------------------------------------- the guided form


def form_context(
    values: dict[str, str],
    errors: Mapping[str, FieldError],
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
    return await render_page(request, "cases_new.html", form_context({}, {}, None))


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
        case = await case_drafts.create_draft(db, who, body.model_dump())
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
            # "ver resumen adjunto" with nothing attached: warned, not refused.
            "attachment_missing": not out.attachments and mentions_an_attachment(
                out.diagnosis, out.stage, out.treatment_so_far, out.clinical_question
            ),
            "may_edit": case_drafts.may_edit(who, view),
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


# ---------------------------------------------------------------- the route table

CASE_PAGE = "/cases/{code}"


def routes() -> list[Route]:
    """The case list, the guided form and the case page."""
    return [
        page_route("GET", "/cases", case_list, "page-cases", CLINICAL_READERS),
        page_route("GET", "/cases/new", new_case_form, "page-case-new", CLINICAL),
        page_route("POST", "/cases/new", create_case, "page-case-create", CLINICAL),
        page_route("GET", CASE_PAGE, show_case, "page-case", CLINICAL_READERS),
    ]
