"""Self-service password reset ("Forgot your password?"): ask for a link by e-mail, then set a
new password with it (`casebook.password_reset`).

The request answers alike whether or not the address has an account, and does the same work
either way: a mail is only queued in the outbox (sent by its dispatcher), never sent here.
Requests are throttled per address and per (e-mail, address) as sign-in failures are. Setting
the password ends every session of the account; a second factor is still asked for.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from casebook import account_sessions, accounts, audit, password_reset
from casebook.errors import CasebookError
from casebook.models import User, normalize_email
from web.app.keys import CALL_NAMESPACE, NOTIFIER, PASSWORDS, RESET_THROTTLE, SESSIONS, SETTINGS
from web.http.auth import client_address
from web.http.errors import TooManyAttempts
from web.http.routes import Route, page_route
from web.pages.account import password_accepted
from web.render.context import render

log = logging.getLogger("junta.web")

REQUEST_PAGE = "/password-reset"
MIN_LENGTH = 10


async def request_form(request: web.Request) -> web.StreamResponse:
    """The form that asks for a reset link."""
    return await render(request, "password_reset_request.html", {"sent": False})


async def request_submit(request: web.Request) -> web.StreamResponse:
    """Queue a reset link when the address is an account's; the same answer either way."""
    form = await request.post()
    email = normalize_email(str(form.get("email", "")))[:320]
    address = client_address(request)
    throttle = request.app[RESET_THROTTLE]
    wait = throttle.retry_after(email, address)
    if wait is not None:
        log.warning("auth.password_reset_throttled ip=%s retry_after=%.0f", address, wait)
        raise TooManyAttempts(wait)
    # Every request counts, found or not: the throttle says nothing about existence either.
    throttle.record_failure(email, address)
    async with request.app[SESSIONS]() as db:
        user = await password_reset.request_reset(db, request.app[NOTIFIER], email)
        await audit.record(
            db, "auth.password_reset_requested", ip=address, target_type="account",
            target_id=user.id if user is not None else None, detail={"email": email},
        )
        await db.commit()
    return await render(request, "password_reset_request.html", {"sent": True})


async def reset_form(request: web.Request) -> web.StreamResponse:
    """The page a reset link opens: choose a new password."""
    async with request.app[SESSIONS]() as db:
        user = await _resetting(request, db)
    if user is None:
        return await render(request, "password_reset.html", {"invalid": True}, status=404)
    return await render(request, "password_reset.html", _context(user))


def _context(user: User, error: str | None = None) -> dict[str, Any]:
    return {"invalid": False, "email": user.email, "error": error, "min_length": MIN_LENGTH}


async def reset_submit(request: web.Request) -> web.StreamResponse:
    """Set the new password (the link then stops working), end every session, sign in."""
    form = await request.post()
    password = str(form.get("password", ""))
    repeated = str(form.get("password_again", ""))
    async with request.app[SESSIONS]() as db:
        user = await _resetting(request, db)
        if user is None:
            return await render(request, "password_reset.html", {"invalid": True}, status=404)
        error = None
        if password != repeated:
            error = "mismatch"
        else:
            try:
                await accounts.set_password(request.app[PASSWORDS], user, password)
            except CasebookError:
                error = "weak"
        if error is not None:
            return await render(request, "password_reset.html", _context(user, error), status=400)
        # Whoever is signed in with the old password, or stole a session, is signed out.
        ended = await account_sessions.end_all_sessions(db, user.id)
        await audit.record(
            db, "auth.password_reset", actor_user_id=user.id, target_type="user",
            target_id=user.id, ip=client_address(request), detail={"sessions_ended": ended},
        )
        await db.flush()
        # The link is no second factor: an account that has one is asked for its code.
        done = await password_accepted(request, db, user, "/dashboard")
    if ended:
        await request.app[CALL_NAMESPACE].disconnect_user(user.id)
    raise done


async def _resetting(request: web.Request, db: Any) -> User | None:
    token = request.match_info["token"]
    return await password_reset.find_resetting(db, request.app[SETTINGS].secret_key, token)


def routes() -> list[Route]:
    """The reset request form and the page its link opens (no sign-in needed)."""
    return [
        page_route("GET", REQUEST_PAGE, request_form, "password-reset", None),
        page_route("POST", REQUEST_PAGE, request_submit, "password-reset-request", None),
        page_route("GET", REQUEST_PAGE + "/{token}", reset_form, "password-reset-link", None),
        page_route("POST", REQUEST_PAGE + "/{token}", reset_submit, "password-reset-set", None),
    ]
