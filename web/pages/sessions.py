"""Review session pages: the list, planning and editing a session (time, duration, chair,
invitees; its call room comes with it), its agenda, marking cases discussed, cancelling.

The same `casebook.review_sessions` services as the JSON API decide who may do what; these
handlers parse forms into the API's models and render the answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import audit, cases, review_sessions
from casebook.ascii_numbers import parse_ascii_int
from casebook.cases import Caller
from casebook.errors import CasebookError
from casebook.models import Role, RoomKind, User
from casebook.review_sessions import CHAIR_ROLES
from web.api.case_schemas import case_code
from web.api.sessions import SessionEditIn, SessionIn, session_out
from web.app.keys import NOTIFIER, SESSIONS
from web.http.routes import (
    CLINICAL,
    CLINICAL_READERS,
    COORDINATORS,
    MAX_ID,
    Route,
    caller,
    page_route,
)
from web.pages.field_errors import FieldError
from web.pages.forms import form_fields, parse_form, render_page, text_fields
from web.pages.refusal_messages import REFUSALS, refusal_of
from web.render.local_times import local_input, local_time, parse_local

SESSION_FIELDS = ["kind", "title", "starts_at", "duration_minutes", "chair_user_id", "decisions"]


def _session_id(request: web.Request) -> int:
    value = parse_ascii_int(request.match_info["session_id"], 1, MAX_ID)
    if value is None:
        raise review_sessions.SessionNotFound()
    return value


def _may_run(who: Caller, chair_user_id: str) -> bool:
    return who.role is Role.COORDINATOR or who.user_id == chair_user_id


async def _people(db: AsyncSession) -> list[User]:
    """Everyone who can take part in a session (active, not administrators), by name."""
    users = await db.scalars(
        select(User)
        .where(User.active.is_(True), User.role != Role.ADMIN.value)
        .order_by(User.display_name)
    )
    return list(users.unique().all())


def _person(user: User) -> dict[str, str]:
    return {
        "id": user.id,
        "name": user.display_name,
        "center": user.center.name if user.center else "",
        "role": user.role,
    }


# ---------------------------------------------------------------- list and detail


async def session_list(request: web.Request) -> web.StreamResponse:
    """The sessions the user takes part in (coordinators: all), audited like the API's list."""
    who = caller(request)
    async with request.app[SESSIONS]() as db:
        found = await review_sessions.visible_sessions(db, who)
        await audit.record(
            db, "session.list", actor_user_id=who.user_id, target_type="session", ip=who.ip,
            detail={"sessions": [s.id for s in found]},
        )
        rows = [
            {
                "id": s.id,
                "title": s.title,
                "kind": s.kind,
                "starts": local_time(s.starts_at),
                "minutes": s.duration_minutes,
                "chair": s.chair.display_name,
            }
            for s in reversed(found)
        ]
        await db.commit()
    return await render_page(
        request,
        "sessions_list.html",
        {"rows": rows, "may_plan": who.role is Role.COORDINATOR},
    )


async def session_page(
    request: web.Request, *, error: str | None = None, status: int = 200
) -> web.Response:
    """One session: time, chair, invitees, the agenda (with links to the cases), attendance."""
    who = caller(request)
    async with request.app[SESSIONS]() as db:
        session = await review_sessions.read(db, who, _session_id(request))
        out = await session_out(db, who, session)
        names = {u.id: u.display_name for u in await _people(db)}
        await db.commit()
    context = {
        "session": out,
        "error": error,
        "starts": local_time(out.starts_at),
        "chair": names.get(out.chair_user_id, ""),
        "invitees": sorted(names.get(i, "") for i in out.invitees),
        "attendance": [
            {
                "name": names.get(a.user_id, ""),
                "joined": local_time(a.joined_at),
                "left": local_time(a.left_at),
            }
            for a in out.attendance
        ],
        "may_run": _may_run(who, out.chair_user_id),
        "may_cancel": who.role is Role.COORDINATOR and not out.agenda,
    }
    return await render_page(request, "sessions_detail.html", context, status=status)


async def show_session(request: web.Request) -> web.StreamResponse:
    """GET the session page."""
    return await session_page(request)


# ---------------------------------------------------------------- planning and editing


async def _form_page(
    request: web.Request,
    *,
    values: dict[str, Any],
    invitees: set[str],
    errors: Mapping[str, FieldError],
    error: str | None,
    session_id: int | None,
    status: int = 200,
) -> web.Response:
    async with request.app[SESSIONS]() as db:
        people = [_person(u) for u in await _people(db)]
    context = {
        "values": values,
        "invitees": invitees,
        "errors": errors,
        "error": error,
        "session_id": session_id,
        "kinds": [k.value for k in RoomKind],
        "people": people,
        "chairs": [p for p in people if Role(p["role"]) in CHAIR_ROLES],
    }
    return await render_page(request, "sessions_form.html", context, status=status)


async def new_session_form(request: web.Request) -> web.StreamResponse:
    """The form to plan a session."""
    user_id = caller(request).user_id
    values = {"kind": RoomKind.BOARD.value, "duration_minutes": "60", "chair_user_id": user_id}
    return await _form_page(
        request, values=values, invitees=set(), errors={}, error=None, session_id=None
    )


def _session_data(form: Any) -> tuple[dict[str, str], dict[str, Any], set[str]]:
    values = text_fields(form, SESSION_FIELDS)
    invitees = {v for v in form.getall("invitees", []) if isinstance(v, str)}
    data: dict[str, Any] = dict(values)
    when = parse_local(values.get("starts_at", ""))
    data["starts_at"] = when if when is not None else values.get("starts_at", "")
    data["invitees"] = sorted(invitees)
    return values, data, invitees


async def create_session(request: web.Request) -> web.StreamResponse:
    """Plan the session (and its call room); invitations go out through the outbox."""
    who = caller(request)
    values, data, invitees = _session_data(await form_fields(request))
    data.pop("decisions", None)
    body, errors = parse_form(SessionIn, data)
    error: str | None = REFUSALS["invalid_form"]
    if body is not None:
        try:
            async with request.app[SESSIONS]() as db:
                session = await review_sessions.create(
                    db, who, kind=body.kind, title=body.title, starts_at=body.starts_at,
                    duration_minutes=body.duration_minutes, chair_user_id=body.chair_user_id,
                    invitees=body.invitees, notifier=request.app[NOTIFIER],
                )
                session_id = session.id
                await db.commit()
            raise web.HTTPSeeOther(f"/sessions/{session_id}")
        except CasebookError as refused:
            error = refusal_of(refused)[0]
    return await _form_page(
        request, values=values, invitees=invitees, errors=errors, error=error,
        session_id=None, status=400,
    )


async def edit_session_form(request: web.Request) -> web.StreamResponse:
    """The form to change a session (coordinators and its chair)."""
    who = caller(request)
    async with request.app[SESSIONS]() as db:
        session = await review_sessions.find_visible(db, who, _session_id(request))
        if not _may_run(who, session.chair_user_id):
            raise CasebookError("not_allowed", "only a coordinator or the chair")
        invitees = set(await review_sessions.invitee_ids(db, session.id))
        values = {
            "kind": session.kind,
            "title": session.title,
            "starts_at": local_input(session.starts_at),
            "duration_minutes": str(session.duration_minutes),
            "chair_user_id": session.chair_user_id,
            "decisions": session.decisions or "",
        }
        session_id = session.id
    return await _form_page(
        request, values=values, invitees=invitees, errors={}, error=None, session_id=session_id
    )


async def edit_session(request: web.Request) -> web.StreamResponse:
    """Save the changes (a new time bumps the calendar sequence; invitees are told)."""
    who = caller(request)
    session_id = _session_id(request)
    async with request.app[SESSIONS]() as db:
        # Outsiders get 404 before the form is read: not even a form error for their session.
        await review_sessions.find_visible(db, who, session_id)
    values, data, invitees = _session_data(await form_fields(request))
    for fixed in ("kind", "chair_user_id"):
        data.pop(fixed, None)
    body, errors = parse_form(SessionEditIn, data)
    error: str | None = REFUSALS["invalid_form"]
    if body is not None:
        try:
            async with request.app[SESSIONS]() as db:
                session = await review_sessions.find_visible(db, who, session_id)
                await review_sessions.update_session(
                    db, who, session, body.model_dump(exclude_none=True), request.app[NOTIFIER]
                )
                await db.commit()
            raise web.HTTPSeeOther(f"/sessions/{session_id}")
        except CasebookError as refused:
            if refused.code == "not_found":
                raise
            error = refusal_of(refused)[0]
    return await _form_page(
        request, values=values, invitees=invitees, errors=errors, error=error,
        session_id=session_id, status=400,
    )


async def cancel_session(request: web.Request) -> web.StreamResponse:
    """Cancel a session with an empty agenda (its room goes too; invitees get a CANCEL)."""
    who = caller(request)
    try:
        async with request.app[SESSIONS]() as db:
            session = await review_sessions.find_visible(db, who, _session_id(request))
            await review_sessions.cancel(db, who, session, request.app[NOTIFIER])
            await db.commit()
    except CasebookError as refused:
        if refused.code == "not_found":
            raise
        return await session_page(request, error=refusal_of(refused)[0], status=409)
    raise web.HTTPSeeOther("/sessions")


# ---------------------------------------------------------------- the agenda


async def agenda_step(request: web.Request) -> web.StreamResponse:
    """Mark a case of the agenda discussed, or take it off the agenda."""
    who = caller(request)
    session_id = _session_id(request)
    code = case_code(request)
    discussed = (request.match_info.route.name or "").endswith("discussed")
    form = await form_fields(request)
    try:
        async with request.app[SESSIONS]() as db:
            session = await review_sessions.find_visible(db, who, session_id)
            view = await cases.find_visible(db, who, code)
            current = view.current_session()
            if current is None or current.session_id != str(session.id):
                raise cases.CaseNotFound()
            if discussed:
                await review_sessions.mark_discussed(db, who, view, request.app[NOTIFIER])
            else:
                await review_sessions.unschedule(db, who, view, request.app[NOTIFIER])
            await db.commit()
    except CasebookError as refused:
        if refused.code == "not_found":
            raise
        return await session_page(request, error=refusal_of(refused)[0], status=409)
    if form.get("next") == "case":
        raise web.HTTPSeeOther(f"/cases/{code}")
    raise web.HTTPSeeOther(f"/sessions/{session_id}")


SESSION_PAGE = r"/sessions/{session_id:\d+}"


def routes() -> list[Route]:
    """The review session pages."""
    return [
        page_route("GET", "/sessions", session_list, "page-sessions", CLINICAL_READERS),
        page_route("GET", "/sessions/new", new_session_form, "page-session-new", COORDINATORS),
        page_route("POST", "/sessions/new", create_session, "page-session-create", COORDINATORS),
        page_route("GET", SESSION_PAGE, show_session, "page-session", CLINICAL_READERS),
        page_route("GET", f"{SESSION_PAGE}/edit", edit_session_form, "page-session-edit-form",
                  CLINICAL),
        page_route("POST", f"{SESSION_PAGE}/edit", edit_session, "page-session-edit", CLINICAL),
        page_route("POST", f"{SESSION_PAGE}/cancel", cancel_session, "page-session-cancel",
                  COORDINATORS),
        page_route("POST", SESSION_PAGE + "/agenda/{code}/discussed", agenda_step,
                  "page-session-discussed", CLINICAL),
        page_route("POST", SESSION_PAGE + "/agenda/{code}/unschedule", agenda_step,
                  "page-session-unschedule", CLINICAL),
    ]

