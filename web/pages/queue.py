"""The coordinators' queue page: urgent first, then longest waiting, overdue cases flagged; and
scheduling the ticked accepted cases onto a review session from it.
"""

from __future__ import annotations

from aiohttp import web
from markupsafe import Markup

from casebook import cases, queue, review_sessions
from casebook.ascii_numbers import parse_ascii_int
from casebook.cases import CaseNotFound
from casebook.clock import utcnow
from casebook.errors import CasebookError
from casebook.models import CaseStatus
from web.app.keys import NOTIFIER, REFUSED_CASE_CODE, SESSIONS, SETTINGS
from web.app.service_targets import service_targets
from web.http.page_routes import form_fields, render_page
from web.http.routes import COORDINATORS, MAX_ID, Route, caller, page_route
from web.http.short_reads import read_connection
from web.pages.cases import SCHEDULE_WINDOW, page_number, session_choice
from web.pages.refusal_messages import N_, refusal_of
from web.render.case_labels import labels
from web.render.queue_lines import queue_rows

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
            page=page_number(request), page_size=50, choices_since=now - SCHEDULE_WINDOW,
            reply=reply,
        )



def routes() -> list[Route]:
    """The queue and scheduling from it."""
    return [
        page_route("GET", "/queue", queue_page, "page-queue", COORDINATORS, short_read=True),
        page_route(
            "POST", "/queue/schedule", schedule_from_queue, "page-queue-schedule", COORDINATORS
        ),
    ]
