"""The steps people take on a case page: submitting, withdrawing and closing, answering,
triage (requesting information, accepting, rejecting, scheduling), opinions, the chair's
recommendation form, and attaching files.

Each step calls the same `casebook` service as the JSON API; a refused step re-renders the case
page with a translated reason (`web.pages.refusal_messages`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import attachments, case_steps, cases, identifier_refusals, opinions, review_sessions
from casebook.ascii_numbers import parse_ascii_int
from casebook.cases import Caller, CaseView
from casebook.errors import CasebookError
from casebook.models import Role
from casebook.workflow import CaseAction
from web.api.case_schemas import (
    AcceptIn,
    AnswerIn,
    OpinionIn,
    QuestionIn,
    RecommendationIn,
    RejectIn,
    case_code,
)
from web.app.keys import FILE_STORE, NOTIFIER, SESSIONS
from web.http.routes import CLINICAL, COORDINATORS, MAX_ID, Route, caller, page_route
from web.http.uploads import MissingUpload, refuse_oversized, uploaded_file
from web.pages.cases import CASE_PAGE, case_page
from web.pages.forms import blank_to_none, form_fields, parse_form, text_fields
from web.pages.refusal_messages import findings_of, refusal_of

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
            async with identifier_refusals.keeping_refusal_audit(db):
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
                await case_steps.submit(db, who, view, notifier)
            elif action is CaseAction.WITHDRAW:
                await case_steps.withdraw(db, who, view, notifier)
            else:
                await case_steps.close(db, who, view, notifier)
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
            await case_steps.answer_information(db, who, view, answer.answer, notifier)
        elif kind == "page-case-request-information":
            question = _parsed(QuestionIn, form, ["question"])
            await case_steps.request_information(db, who, view, question.question, notifier)
        elif kind == "page-case-accept":
            accept = _parsed(AcceptIn, form, ["urgency", "specialty", "note"], "note")
            await case_steps.accept(
                db, who, view, urgency=accept.urgency, specialty=accept.specialty,
                note=accept.note, notifier=notifier,
            )
        elif kind == "page-case-reject":
            reject = _parsed(RejectIn, form, ["note"])
            await case_steps.reject(db, who, view, reject.note, notifier)
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
            session_id = parse_ascii_int(form.get("session"), 1, MAX_ID)
            if session_id is None:
                raise InvalidForm()
            session = await review_sessions.find_visible(db, who, session_id)
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
        # Short sessions around the body: no pooled connection is held while bytes come in.
        async with request.app[SESSIONS]() as db:
            attachments.require_upload(who, await cases.find_visible(db, who, code))
        refuse_oversized(request, store)
        try:
            upload = await uploaded_file(request)
        except MissingUpload:
            raise NoFile() from None
        async with request.app[SESSIONS]() as db:
            view = await cases.find_visible(db, who, code)
            async with identifier_refusals.keeping_refusal_audit(db):
                name = await attachments.check_upload(db, who, view, upload.filename)
        stored = await store.receive(upload.chunks)
        async with request.app[SESSIONS]() as db:
            view = await cases.find_visible(db, who, code)
            await attachments.attach(db, who, view, name, stored)
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


def routes() -> list[Route]:
    """The steps taken from a case page."""
    form_step = _handler(_with_form)
    return [
        page_route("POST", f"{CASE_PAGE}/submit", _submit_like(CaseAction.SUBMIT),
                  "page-case-submit", CLINICAL),
        page_route("POST", f"{CASE_PAGE}/withdraw", _submit_like(CaseAction.WITHDRAW),
                  "page-case-withdraw", CLINICAL),
        page_route("POST", f"{CASE_PAGE}/close", _submit_like(CaseAction.CLOSE),
                  "page-case-close", CLINICAL),
        page_route("POST", f"{CASE_PAGE}/answer", form_step, "page-case-answer", CLINICAL),
        page_route("POST", f"{CASE_PAGE}/request-information", form_step,
                  "page-case-request-information", COORDINATORS),
        page_route("POST", f"{CASE_PAGE}/accept", form_step, "page-case-accept", COORDINATORS),
        page_route("POST", f"{CASE_PAGE}/reject", form_step, "page-case-reject", COORDINATORS),
        page_route("POST", f"{CASE_PAGE}/schedule", form_step, "page-case-schedule",
                  COORDINATORS),
        page_route("POST", f"{CASE_PAGE}/opinions", form_step, "page-case-opinion",
                  frozenset({Role.COORDINATOR, Role.SPECIALIST, Role.LECTURER})),
        page_route("POST", f"{CASE_PAGE}/recommendation", form_step, "page-case-recommendation",
                  CLINICAL),
        page_route("POST", f"{CASE_PAGE}/attachments", upload_attachment,
                  "page-case-attachments", CLINICAL),
    ]
