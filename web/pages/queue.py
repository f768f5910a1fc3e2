"""The coordinators' queue page: urgent first, then longest waiting, overdue cases flagged; and
scheduling the ticked accepted cases onto a review session from it.
"""

from __future__ import annotations

from typing import NamedTuple

from aiohttp import web

from casebook import cases, queue, review_sessions
from casebook.ascii_numbers import parse_ascii_int
from casebook.cases import CaseNotFound
from casebook.clock import utcnow
from casebook.errors import CasebookError
from casebook.models import CaseStatus
from web.app.keys import NOTIFIER, REFUSED_CASE_CODE, SESSIONS, SETTINGS
from web.app.service_targets import service_targets
from web.http.routes import COORDINATORS, MAX_ID, Route, caller, page_route
from web.pages.cases import page_number, upcoming_sessions
from web.pages.forms import form_fields, render_page
from web.pages.refusal_messages import N_, refusal_of
from web.render.local_times import local_time


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
    session_id = parse_ascii_int(raw, 1, MAX_ID)
    if session_id is None:
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
            session = await review_sessions.find_visible(db, who, session_id)
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


class QueueLine(NamedTuple):
    """A row of the queue page, ready to show."""

    code: str
    status: str
    urgency: str
    diagnosis: str
    icd10: str
    center: str
    waiting_days: int
    waiting_hours: int
    due: str
    overdue: bool


def queue_line(row: queue.QueueRow) -> QueueLine:
    """What the queue page shows of `row`."""
    case, entry = row.case, row.entry
    return QueueLine(
        code=case.code,
        status=case.status,
        urgency=case.urgency,
        diagnosis=case.diagnosis,
        icd10=case.icd10_code,
        center=case.referring_center_name,
        waiting_days=entry.waiting.days,
        waiting_hours=entry.waiting.seconds // 3600,
        due=local_time(entry.due_at),
        overdue=entry.overdue,
    )


async def _queue_reply(
    request: web.Request, *, error: str | None = None, failed: str = "", status: int = 200
) -> web.Response:
    """The queue page; `error` (untranslated) above it, naming the case `failed` if one did."""
    who = caller(request)
    async with request.app[SESSIONS]() as db:
        found = await queue.coordinator_queue(
            db, who, utcnow(), targets=service_targets(request.app[SETTINGS]),
            page=page_number(request), page_size=50,
        )
        # The scheduling form only when the page has accepted cases to put on a session.
        accepted = any(r.case.status == CaseStatus.ACCEPTED.value for r in found.rows)
        sessions = await upcoming_sessions(db, who) if accepted else []
        await db.commit()
    rows = [queue_line(row) for row in found.rows]
    return await render_page(
        request,
        "queue.html",
        {
            "rows": rows,
            "sessions": sessions,
            "page": found.page,
            "pages": max(1, -(-found.total // found.page_size)),
            "total": found.total,
            "overdue_count": sum(1 for r in rows if r.overdue),
            "error": error,
            "failed": failed,
        },
        status=status,
    )


def routes() -> list[Route]:
    """The queue and scheduling from it."""
    return [
        page_route("GET", "/queue", queue_page, "page-queue", COORDINATORS),
        page_route(
            "POST", "/queue/schedule", schedule_from_queue, "page-queue-schedule", COORDINATORS
        ),
    ]
