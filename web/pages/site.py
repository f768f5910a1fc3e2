"""The HTML pages: sign-in and sign-out, language switch, dashboard and the call room page."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from casebook import accounts, audit, review_sessions
from casebook.clock import utcnow
from casebook.models import User, normalize_email
from signaling.protocol import PROTOCOL_VERSION
from web.app.keys import CALL_NAMESPACE, I18N, LOGIN_THROTTLE, PASSWORDS, SESSIONS, SETTINGS
from web.calls.room_access import require_invite
from web.http.auth import (
    SESSION_COOKIE,
    client_address,
    current_user,
    require_user,
)
from web.http.errors import TooManyAttempts
from web.http.routes import Route, page_route
from web.pages import account as account_pages
from web.render.context import LANG_COOKIE, render, request_locale, user_view
from web.render.i18n import LOCALES

log = logging.getLogger("junta.web")

DASHBOARD = "/dashboard"
PRIVACY = "/privacy"
LANG_COOKIE_MAX_AGE = 365 * 86400


def safe_next(value: object, default: str = DASHBOARD) -> str:
    """A local path to go to after a form, never another site (`//evil`, `https:`…)."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        return default
    if "\\" in value or any(ord(c) < 32 for c in value):
        return default
    return value


async def home(request: web.Request) -> web.StreamResponse:
    """`/`: the dashboard for a signed-in user, the sign-in form otherwise."""
    raise web.HTTPSeeOther(DASHBOARD if current_user(request) else "/login")


async def login_form(request: web.Request) -> web.StreamResponse:
    """The sign-in form."""
    next_url = safe_next(request.query.get("next"))
    if current_user(request):
        raise web.HTTPSeeOther(next_url)
    return await render(request, "login.html", {"next": next_url, "email": "", "error": None})


async def login_submit(request: web.Request) -> web.StreamResponse:
    """Check e-mail and password; on success start a new session (rotating any old one)."""
    form = await request.post()
    email = normalize_email(str(form.get("email", "")))[:320]
    password = str(form.get("password", ""))
    next_url = safe_next(form.get("next"))
    address = client_address(request)
    throttle = request.app[LOGIN_THROTTLE]
    async with request.app[SESSIONS]() as db:
        wait = throttle.retry_after(email, address)
        if wait is not None:
            await audit.record(
                db, "auth.login_throttled", ip=address, target_type="account",
                detail={"email": email},
            )
            await db.commit()
            log.warning("auth.login_throttled ip=%s retry_after=%.0f", address, wait)
            raise TooManyAttempts(wait)
        refusal = await account_pages.refuse_locked(request, db, email)
        if refusal is not None and refusal.scope == "account":
            # The account alone is only slowed, for everyone alike: say how long to wait.
            await db.commit()
            raise TooManyAttempts((refusal.until - utcnow()).total_seconds())
        # Locked, wrong password and unknown account: the same reply, after one Argon2 run.
        if refusal is not None:
            await asyncio.to_thread(request.app[PASSWORDS].burn, password)
            user = None
        else:
            user = await accounts.authenticate(db, request.app[PASSWORDS], email, password)
        if user is None:
            throttle.record_failure(email, address)
            await audit.record(
                db, "auth.login_failed", ip=address, target_type="account",
                detail={"email": email},
            )
            # Tries while locked do not count: they would keep the account slowed for everyone.
            if refusal is None:
                await account_pages.note_failure(request, db, email)
            await db.commit()
            context = {"next": next_url, "email": email, "error": "invalid"}
            return await render(request, "login.html", context, status=401)
        throttle.record_success(email, address)
        # The session (rotating the old one), or first the second-factor step.
        raise await account_pages.password_accepted(request, db, user, next_url)


async def logout(request: web.Request) -> web.StreamResponse:
    """End the session and go back to the sign-in form."""
    token = request.cookies.get(SESSION_COOKIE)
    user = current_user(request)
    if token and user:
        async with request.app[SESSIONS]() as db:
            await accounts.end_session(db, token)
            await audit.record(
                db, "auth.logout", actor_user_id=user.id, target_type="user",
                target_id=user.id, ip=client_address(request),
            )
            await db.commit()
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


async def switch_language(request: web.Request) -> web.StreamResponse:
    """Remember the chosen language (cookie, and the account's preference when signed in)."""
    form = await request.post()
    locale = str(form.get("lang", ""))
    if locale not in LOCALES:
        locale = request_locale(request)
    user = current_user(request)
    if user:
        async with request.app[SESSIONS]() as db:
            stored = await db.get(User, user.id)
            if stored is not None:
                stored.locale = locale
                await db.commit()
    response = web.HTTPSeeOther(safe_next(form.get("next")))
    response.set_cookie(
        LANG_COOKIE, locale, path="/", max_age=LANG_COOKIE_MAX_AGE, samesite="Lax",
        secure=request.app[SETTINGS].cookie_secure,
    )
    raise response


async def dashboard(request: web.Request) -> web.StreamResponse:
    """The rooms the signed-in user is invited to."""
    user = require_user(request)
    async with request.app[SESSIONS]() as db:
        invites = await accounts.invites_for_user(db, user.id)
    rooms = [
        {
            "id": invite.room.id,
            "title": invite.room.title,
            "kind": invite.room.kind,
            "requires_admission": invite.room.requires_admission,
            "moderator": invite.moderator,
        }
        for invite in invites
    ]
    return await render(request, "dashboard.html", {"rooms": rooms})


async def room_page(request: web.Request) -> web.StreamResponse:
    """The call page of a room the user is invited to (404 for everyone else)."""
    user, invite = await require_invite(request)
    locale = request_locale(request)
    context = {
        "room": {
            "id": invite.room.id,
            "title": invite.room.title,
            "kind": invite.room.kind,
            "requires_admission": invite.room.requires_admission,
        },
        "user": user_view(user),
        "is_moderator": invite.moderator,
        "client_i18n": request.app[I18N].client[locale],
        "protocol_version": PROTOCOL_VERSION,
        "reconnect_grace": request.app[SETTINGS].reconnect_grace,
        # A session being recorded says so on the pre-join screen, before anyone enters.
        "recording": await request.app[CALL_NAMESPACE].recording.status(invite.room.id),
        # Rooms of a review session show its agenda and the case under discussion.
        "case_panel": await case_panel(request, invite.room.id),
    }
    return await render(request, "room.html", context)


async def case_panel(request: web.Request, room_id: str) -> dict[str, Any] | None:
    """What the room page needs to show the case panel; None for rooms without a session."""
    async with request.app[SESSIONS]() as db:
        session = await review_sessions.session_of_room(db, room_id)
    if session is None:
        return None
    agenda = request.app.router["api-room-agenda"].url_for(room_id=room_id)
    return {"agenda_url": str(agenda), "session_id": session.id}


async def privacy_notice(request: web.Request) -> web.StreamResponse:
    """The privacy notice (public), in the request's language."""
    settings = request.app[SETTINGS]
    context = {
        "controller": settings.privacy_controller,
        "contact": settings.privacy_contact,
        "law": settings.privacy_law,
    }
    return await render(request, "privacy.html", context)


async def favicon(request: web.Request) -> web.StreamResponse:
    """Browsers ask for /favicon.ico on their own; pages name the SVG icon."""
    raise web.HTTPMovedPermanently("/static/favicon.svg")


def routes() -> list[Route]:
    """The site's pages: no gate, each handler decides who may see it."""
    return [
        page_route("GET", "/", home, "home", None),
        page_route("GET", "/login", login_form, "login", None),
        page_route("POST", "/login", login_submit, None, None),
        page_route("POST", "/logout", logout, "logout", None),
        page_route("POST", "/lang", switch_language, "lang", None),
        page_route("GET", DASHBOARD, dashboard, "dashboard", None),
        page_route("GET", "/rooms/{room_id}", room_page, "room", None),
        page_route("GET", "/favicon.ico", favicon, "favicon", None),
        page_route("GET", PRIVACY, privacy_notice, "privacy", None),
    ]
