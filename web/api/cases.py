"""The cases API: drafts, the workflow, listing and the coordinators' queue. Handlers parse
(pydantic), call a `casebook` service, shape the reply (`web.api.case_schemas`).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import case_drafts, case_steps, cases, identifier_refusals, queue, visible_cases
from casebook.cases import Caller
from casebook.clock import utcnow
from casebook.models import Role
from casebook.workflow import CaseAction
from web.api.case_schemas import (
    AcceptIn,
    AnswerIn,
    CaseDraftIn,
    CaseEditIn,
    CaseListOut,
    CaseListQuery,
    CaseOut,
    QuestionIn,
    QueueEntryOut,
    QueueOut,
    QueueQuery,
    RejectIn,
    case_code,
    case_out,
    summary_of,
)
from web.app.keys import NOTIFIER, SETTINGS
from web.app.service_targets import service_targets
from web.http.routes import (
    CLINICAL,
    CLINICAL_READERS,
    COORDINATORS,
    Route,
    caller,
    json_reply,
    parse_body,
    parse_query,
    transaction,
)


async def _reload(db: AsyncSession, who: Caller, code: str) -> CaseOut:
    # The actor may no longer see the case after acting (e.g. withdrawing a draft stays
    # visible; but be safe): the reply is what they may see now.
    return await case_out(db, who, await cases.find_visible(db, who, code))


# ---------------------------------------------------------------- handlers


async def create_case(request: web.Request) -> web.StreamResponse:
    """Create a draft case of the caller's center."""
    who = caller(request)
    body = await parse_body(request, CaseDraftIn)
    async with transaction(request) as db:
        case = await case_drafts.create_draft(db, who, body.model_dump())
        code = case.code
        reply = await _reload(db, who, code)
    return json_reply(reply, status=201)


async def list_cases(request: web.Request) -> web.StreamResponse:
    """The cases the caller may see."""
    who = caller(request)
    query = parse_query(request, CaseListQuery)
    async with transaction(request) as db:
        page = await visible_cases.list_cases(
            db,
            who,
            status=query.status,
            urgency=query.urgency,
            center_id=query.center,
            page=query.page,
            page_size=query.page_size,
        )
    return json_reply(
        CaseListOut(
            cases=[summary_of(c) for c in page.cases],
            total=page.total,
            page=page.page,
            page_size=page.page_size,
        )
    )


async def get_case(request: web.Request) -> web.StreamResponse:
    """One case by its public code."""
    who = caller(request)
    code = case_code(request)
    async with transaction(request) as db:
        view = await cases.read(db, who, code)
        reply = await case_out(db, who, view)
    return json_reply(reply)


async def edit_case(request: web.Request) -> web.StreamResponse:
    """Change a draft."""
    who = caller(request)
    code = case_code(request)
    async with transaction(request) as db:
        view = await cases.find_visible(db, who, code)
        body = await parse_body(request, CaseEditIn)
        changes = body.model_dump(exclude_unset=True, exclude_none=True)
        await case_drafts.edit_draft(db, who, view, changes)
        reply = await _reload(db, who, code)
    return json_reply(reply)


def _transition(
    action: CaseAction, model: type[BaseModel] | None
) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        who = caller(request)
        code = case_code(request)
        notifier = request.app[NOTIFIER]
        async with transaction(request) as db:
            view = await cases.find_visible(db, who, code)
            body: Any = await parse_body(request, model) if model is not None else None
            if action is CaseAction.SUBMIT:
                async with identifier_refusals.keeping_refusal_audit(db):
                    await case_steps.submit(db, who, view, notifier)
            elif action is CaseAction.REQUEST_INFORMATION:
                await case_steps.request_information(db, who, view, body.question, notifier)
            elif action is CaseAction.ANSWER_INFORMATION:
                await case_steps.answer_information(db, who, view, body.answer, notifier)
            elif action is CaseAction.ACCEPT:
                await case_steps.accept(
                    db, who, view, urgency=body.urgency, specialty=body.specialty,
                    note=body.note, notifier=notifier,
                )
            elif action is CaseAction.REJECT:
                await case_steps.reject(db, who, view, body.note, notifier)
            elif action is CaseAction.WITHDRAW:
                await case_steps.withdraw(db, who, view, notifier)
            elif action is CaseAction.CLOSE:
                await case_steps.close(db, who, view, notifier)
            else:  # pragma: no cover - only the actions registered below
                raise AssertionError(action)
            await db.flush()
            reply = await _reload(db, who, code)
        return json_reply(reply)

    handler.__doc__ = f"Take the `{action.value}` step of the workflow."
    return handler


async def coordinator_queue(request: web.Request) -> web.StreamResponse:
    """The coordinators' queue with overdue flags."""
    who = caller(request)
    query = parse_query(request, QueueQuery)
    async with transaction(request) as db:
        page = await queue.coordinator_queue(
            db, who, utcnow(), targets=service_targets(request.app[SETTINGS]),
            page=query.page, page_size=query.page_size,
        )
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


# ---------------------------------------------------------------- the route table

CASE = "/api/cases/{code}"


def _step(
    action: CaseAction,
    path: str,
    model: type[BaseModel] | None,
    roles: frozenset[Role],
    text: str,
) -> Route:
    return Route(
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


def routes() -> list[Route]:
    """The cases API."""
    return [
        Route(
            "POST", "/api/cases", create_case, name="api-cases-create",
            summary="Create a draft case",
            description="A new draft of the caller's center, with the next public code.",
            roles=CLINICAL, body=CaseDraftIn, response=CaseOut, status=201,
        ),
        Route(
            "GET", "/api/cases", list_cases, name="api-cases-list",
            summary="List cases",
            description="The cases the caller may see, newest first, filtered and paginated.",
            roles=CLINICAL_READERS, query=CaseListQuery, response=CaseListOut,
        ),
        Route(
            "GET", "/api/queue", coordinator_queue, name="api-queue",
            summary="Coordinators' queue",
            description=(
                "Cases waiting for triage or scheduling: urgent first, then the longest waiting;"
                " each flagged when past its service target."
            ),
            roles=COORDINATORS, query=QueueQuery, response=QueueOut,
        ),
        Route(
            "GET", CASE, get_case, name="api-case",
            summary="Get a case",
            description="One case by its public code (404 for a case the caller may not see).",
            roles=CLINICAL_READERS, response=CaseOut,
        ),
        Route(
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
    ]
