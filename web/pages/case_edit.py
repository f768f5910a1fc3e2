"""The referrer's page to change a draft (`/cases/{code}/edit`): the guided form of /cases/new,
filled with the draft, saved through `casebook.case_drafts.edit_draft` like
`PATCH /api/cases/{code}` (same rule: the case's referrer, only in draft; same audit,
`case.edited`).

It is how a referrer using the pages removes what the identifier check found before submitting.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from casebook import case_drafts, cases, identifier_refusals
from casebook.cases import CaseView
from casebook.errors import CasebookError
from web.api.case_schemas import CaseDraftIn, case_code
from web.app.keys import SESSIONS
from web.http.routes import CLINICAL, Route, caller, page_route
from web.pages.cases import CASE_FIELDS, case_page, form_context
from web.pages.forms import blank_to_none, form_fields, parse_form, render_page, text_fields
from web.pages.refusal_messages import REFUSALS, finding_rows, refusal_of


def draft_values(view: CaseView) -> dict[str, str]:
    """The draft's fields as the form shows them (every value a string, blanks for none)."""
    values = {}
    for name in CASE_FIELDS:
        value = getattr(view.case, name)
        values[name] = "" if value is None else str(value)
    return values


async def _refused(request: web.Request, error: CasebookError) -> web.StreamResponse:
    """A case that cannot be edited now: its page, with the reason."""
    if error.code == "not_found":
        raise error
    message, status = refusal_of(error)
    if error.code == "illegal_transition":
        message = REFUSALS["not_editable"]
    return await case_page(request, error=message, status=status)


async def edit_form(request: web.Request) -> web.StreamResponse:
    """The guided form with the draft's values. Shows the case's content: audited as a read."""
    who = caller(request)
    code = case_code(request)
    try:
        async with request.app[SESSIONS]() as db:
            view = await cases.read(db, who, code)
            case_drafts.require_editable(who, view)
            values = draft_values(view)
            # What submission would refuse, shown under its field so it can be removed here.
            findings = finding_rows(identifier_refusals.text_findings(view.case))
            await db.commit()
    except CasebookError as error:
        return await _refused(request, error)
    context = {"code": code, **form_context(values, {}, None, findings)}
    return await render_page(request, "cases_edit.html", context)


async def save_edit(request: web.Request) -> web.StreamResponse:
    """Save the form over the draft (validated like /cases/new); back to the case page."""
    who = caller(request)
    code = case_code(request)
    form = await form_fields(request)
    values = text_fields(form, CASE_FIELDS)
    data: dict[str, Any] = blank_to_none(dict(values), "stage", "patient_age_months")
    try:
        async with request.app[SESSIONS]() as db:
            view = await cases.find_visible(db, who, code)
            case_drafts.require_editable(who, view)
            body, errors = parse_form(CaseDraftIn, data)
            if body is None:
                await db.commit()  # nothing written but the access checks' audit
                context = {"code": code, **form_context(values, errors, REFUSALS["invalid_form"])}
                return await render_page(request, "cases_edit.html", context, status=400)
            await case_drafts.edit_draft(db, who, view, body.model_dump())
            await db.commit()
    except CasebookError as error:
        return await _refused(request, error)
    raise web.HTTPSeeOther(f"/cases/{code}")


def routes() -> list[Route]:
    """The draft's edit page and its form target: clinical staff (the service checks the rest)."""
    return [
        page_route("GET", "/cases/{code}/edit", edit_form, "page-case-edit", CLINICAL),
        page_route("POST", "/cases/{code}/edit", save_edit, "page-case-save", CLINICAL),
    ]
