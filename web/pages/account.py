"""A person's own account: sign-in steps after the password (lockout, second factor), their
sessions, two-factor enrollment, accepting an invitation, and the export of their personal data.

Every page is declared with `web.http.routes.Route` (roles, name), so the access tests are
generated from the same table the router serves (`tests/web/pages/test_account_access.py`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import segno
from aiohttp import web
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import (
    account_sessions,
    accounts,
    audit,
    invitations,
    lockout,
    personal_data,
    totp,
    two_factor,
)
from casebook.clock import utcnow
from casebook.errors import CasebookError
from casebook.models import User
from casebook.secret_box import SecretBox
from web.app.keys import CALL_NAMESPACE, LOCKOUT, PASSWORDS, SECRET_BOX, SESSIONS, SETTINGS
from web.http.auth import (
    SESSION_COOKIE,
    TWO_FACTOR_ENABLED,
    client_address,
    current_session,
    current_user,
    require_user,
    set_session_cookie,
)
from web.http.csrf import CSRF_COOKIE
from web.http.errors import NotFound, WebError, is_api
from web.http.routes import ALL_ROLES, Route
from web.render.context import render, wait_words

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler

log = logging.getLogger("junta.web")

PENDING_COOKIE = "junta_2fa"
TWO_FACTOR_LOGIN = "/login/two-factor"
TWO_FACTOR_PAGE = "/account/two-factor"
PASSWORD_PAGE = "/account/password"


def secret_box(request: web.Request) -> SecretBox:
    """The box the second factor's secrets are sealed in (the server key's, derived once)."""
    return request.app[SECRET_BOX]


async def _record_own(
    request: web.Request,
    db: AsyncSession,
    user: User,
    action: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Audit what `user` did to their own account (actor and target are both them)."""
    await audit.record(
        db, action, actor_user_id=user.id, target_type="user", target_id=user.id,
        ip=client_address(request), detail=detail,
    )

# ---------------------------------------------------------------- signing in


async def refuse_locked(
    request: web.Request, db: AsyncSession, email: str
) -> lockout.Refusal | None:
    """The refusal (audited) when `email` may not sign in from this address now, else None.

    A lock of the account at this address or of the address is answered as a wrong password;
    the account's short delay is told with how long to wait (it says nothing about existence:
    unknown e-mails are slowed alike).
    """
    refusal = await lockout.locked_until(db, email, client_address(request))
    if refusal is None:
        return None
    await audit.record(
        db, "auth.login_locked", ip=client_address(request), target_type="account",
        detail={"email": email, "scope": refusal.scope},
    )
    return refusal


async def note_failure(request: web.Request, db: AsyncSession, email: str) -> None:
    """Count a failed sign-in step towards the lockout; audit a lock when it starts."""
    policy = request.app[LOCKOUT]
    started = await lockout.record_failure(db, email, client_address(request), policy)
    if started is not None:
        action = "auth.account_locked" if started.scope == "account_at_address" else (
            "auth.address_locked"
        )
        threshold = policy.threshold if action == "auth.account_locked" else (
            policy.address_threshold
        )
        await audit.record(
            db, action, ip=client_address(request), target_type="account",
            detail={"email": email, "failures": threshold, "until": started.until.isoformat()},
        )
        log.warning("%s ip=%s", action, client_address(request))


async def password_accepted(
    request: web.Request, db: AsyncSession, user: User, next_url: str
) -> web.HTTPException:
    """After a right password: the second-factor step when enrolled, else the new session."""
    await lockout.record_success(db, user.email, client_address(request))
    if not await two_factor.is_enabled(db, user.id):
        return await start_signed_in(request, db, user, next_url)
    token = await two_factor.start_pending(db, user, next_url)
    await _record_own(request, db, user, "auth.second_factor_asked")
    await db.commit()
    response = web.HTTPSeeOther(TWO_FACTOR_LOGIN)
    response.set_cookie(
        PENDING_COOKIE, token, path="/login", httponly=True, samesite="Lax",
        secure=request.app[SETTINGS].cookie_secure,
    )
    return response


async def start_signed_in(
    request: web.Request,
    db: AsyncSession,
    user: User,
    next_url: str,
    detail: dict[str, Any] | None = None,
) -> web.HTTPException:
    """Start a new session (ending the one the browser had: rotation), audit it, commit."""
    address = client_address(request)
    token, _row = await accounts.start_session(
        db,
        user,
        ip=address,
        user_agent=request.headers.get("User-Agent"),
        replaces=request.cookies.get(SESSION_COOKIE),
    )
    await _record_own(request, db, user, "auth.login", detail)
    await db.commit()
    response = web.HTTPSeeOther(next_url)
    set_session_cookie(response, token, request.app[SETTINGS])
    # The pre-sign-in token is done with; pages now carry the session's.
    response.del_cookie(CSRF_COOKIE, path="/")
    response.del_cookie(PENDING_COOKIE, path="/login")
    return response


async def login_two_factor_form(request: web.Request) -> web.StreamResponse:
    """Second sign-in step: the code from the authenticator app (or a recovery code)."""
    async with request.app[SESSIONS]() as db:
        pending = await _pending(request, db)
        await db.commit()
    if pending is None:
        raise web.HTTPSeeOther("/login")
    return await render(request, "login_2fa.html", {"error": None})


async def login_two_factor_submit(request: web.Request) -> web.StreamResponse:
    """Check the second factor; on success start the session."""
    form = await request.post()
    code = str(form.get("code", ""))[:64]
    async with request.app[SESSIONS]() as db:
        pending = await _pending(request, db)
        if pending is None:
            await db.commit()
            raise web.HTTPSeeOther("/login")
        user = pending.user
        refused = await refuse_locked(request, db, user.email) is not None
        if refused:
            check = two_factor.CodeCheck("wrong")
        else:
            check = await two_factor.check_code(db, user.id, code, secret_box(request))
        if check.outcome == "refused":
            await _record_own(request, db, user, "auth.second_factor_refused")
            await db.commit()
            return await _refused(request, check)
        if not check.accepted:
            pending.row.attempts += 1
            await _record_own(
                request, db, user, "auth.second_factor_failed",
                {"reused": True} if check.outcome == "reused" else None,
            )
            if not refused:
                await note_failure(request, db, user.email)
            if check.refused_until is not None:
                await _record_own(
                    request, db, user, "auth.second_factor_locked",
                    {"failures": two_factor.MAX_FAILURES,
                     "until": check.refused_until.isoformat()},
                )
                log.warning("auth.second_factor_locked ip=%s", client_address(request))
            await db.commit()
            if check.refused_until is not None:
                return await _refused(request, check)
            context = {"error": check.outcome}
            return await render(request, "login_2fa.html", context, status=401)
        if check.outcome == "recovery":
            await _record_own(request, db, user, "auth.recovery_code_used")
        next_url = pending.row.next_url
        await two_factor.end_pending(db, pending)
        await lockout.record_success(db, user.email, client_address(request))
        raise await start_signed_in(request, db, user, next_url, {"second_factor": check.outcome})


async def _refused(request: web.Request, check: two_factor.CodeCheck) -> web.StreamResponse:
    """The code step is closed for a while: say until when (429, with Retry-After)."""
    assert check.refused_until is not None
    seconds = max(1.0, (check.refused_until - utcnow()).total_seconds())
    context = {"error": "refused", "wait": wait_words(request, seconds)}
    response = await render(request, "login_2fa.html", context, status=429)
    response.headers["Retry-After"] = str(int(seconds) + 1)
    return response


async def _pending(request: web.Request, db: AsyncSession) -> two_factor.Pending | None:
    token = request.cookies.get(PENDING_COOKIE)
    return await two_factor.find_pending(db, token) if token else None


# ---------------------------------------------------------------- second factor required

# Where someone who must enroll may still go: the enrollment itself, and leaving.
_ENROLLMENT_PATHS = (TWO_FACTOR_PAGE, "/logout", "/lang", "/privacy", "/static/", "/favicon")


@web.middleware
async def two_factor_gate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Admins and coordinators without a second factor are sent to enroll before anything else."""
    user = current_user(request)
    if (
        user is None
        or not two_factor.is_required(user)
        or request.path.startswith(_ENROLLMENT_PATHS)
    ):
        return await handler(request)
    enabled = request.get(TWO_FACTOR_ENABLED)
    if enabled is None:  # the session middleware reads it; without that, ask
        async with request.app[SESSIONS]() as db:
            enabled = await two_factor.is_enabled(db, user.id)
    if enabled:
        return await handler(request)
    if is_api(request):
        raise WebError(
            403, "two_factor_enrollment_required",
            "your role signs in with a second factor: enroll at /account/two-factor first",
        )
    raise web.HTTPSeeOther(TWO_FACTOR_PAGE)


# ---------------------------------------------------------------- my account


async def account_page(request: web.Request) -> web.StreamResponse:
    """The person's account: profile and links to sessions, two-factor and data export."""
    user = require_user(request)
    async with request.app[SESSIONS]() as db:
        enabled = await two_factor.is_enabled(db, user.id)
    context = {
        "profile": {"email": user.email, "role": user.role},
        "two_factor_enabled": enabled,
    }
    return await render(request, "account.html", context)


async def sessions_page(request: web.Request) -> web.StreamResponse:
    """The person's live sessions: device, address, started, last seen; each can be ended."""
    user = require_user(request)
    current = current_session(request)
    idle = request.app[SETTINGS].session_idle_minutes
    async with request.app[SESSIONS]() as db:
        rows = await account_sessions.live_sessions(db, user.id, idle=timedelta(minutes=idle))
    sessions = [
        {
            "id": row.id,
            "device": row.user_agent or "",
            "ip": row.ip or "",
            "started": row.created_at,
            "last_seen": row.last_seen_at,
            "current": current is not None and row.id == current.id,
        }
        for row in rows
    ]
    return await render(request, "account_sessions.html", {"sessions": sessions})


async def end_session(request: web.Request) -> web.StreamResponse:
    """End one of the person's sessions (at once); ending this one signs out here."""
    user = require_user(request)
    form = await request.post()
    session_id = str(form.get("session", ""))[:64]
    current = current_session(request)
    async with request.app[SESSIONS]() as db:
        ended = await account_sessions.end_own_session(db, user.id, session_id)
        if not ended:
            raise NotFound()
        await _record_own(
            request, db, user, "auth.session_ended",
            {"current": current is not None and current.id == session_id},
        )
        await db.commit()
    # The ended session's calls close now; the person's other signed-in pages rejoin at once.
    await request.app[CALL_NAMESPACE].disconnect_user(user.id)
    if current is not None and current.id == session_id:
        response = web.HTTPSeeOther("/login")
        response.del_cookie(SESSION_COOKIE, path="/")
        raise response
    raise web.HTTPSeeOther("/account/sessions")


async def end_other_sessions(request: web.Request) -> web.StreamResponse:
    """End every session of the person but this one."""
    user = require_user(request)
    current = current_session(request)
    async with request.app[SESSIONS]() as db:
        count = await account_sessions.end_all_sessions(
            db, user.id, keep=current.id if current else None
        )
        await _record_own(request, db, user, "auth.sessions_ended", {"count": count})
        await db.commit()
    if count:
        await request.app[CALL_NAMESPACE].disconnect_user(user.id)
    raise web.HTTPSeeOther("/account/sessions")


# ---------------------------------------------------------------- two-factor enrollment


async def two_factor_page(request: web.Request) -> web.StreamResponse:
    """Enrollment (key, otpauth URI, QR code, first code) or, when enabled, its status."""
    user = require_user(request)
    async with request.app[SESSIONS]() as db:
        row = await two_factor.enrollment(db, user.id)
        if row is not None and row.confirmed_at is not None:
            left = await two_factor.recovery_codes_left(db, user.id)
            context = {
                "enabled": True,
                "codes_left": left,
                "required": two_factor.is_required(user),
            }
            return await render(request, "account_two_factor.html", context)
        if row is None:
            secret = await two_factor.begin_enrollment(db, user, secret_box(request))
            await db.commit()
        else:
            secret = secret_box(request).open(row.secret)
    return await render(request, "account_two_factor.html", _enrollment_context(user, secret))


def _enrollment_context(user: User, secret: str, error: str | None = None) -> dict[str, Any]:
    uri = totp.provisioning_uri(secret, user.email)
    # Inline SVG: no image URL to serve, nothing the CSP has to allow.
    # A viewBox instead of a fixed size, so the code shrinks on a narrow screen (account.css).
    qr_svg = segno.make(uri, error="m").svg_inline(scale=5, omitsize=True)
    # Groups of four are easier to type into an app.
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return {
        "enabled": False,
        "secret": grouped,
        "uri": uri,
        "qr_svg": qr_svg,
        "required": two_factor.is_required(user),
        "error": error,
    }


async def two_factor_confirm(request: web.Request) -> web.StreamResponse:
    """Turn the second factor on with a first code; show the recovery codes once."""
    user = require_user(request)
    form = await request.post()
    code = str(form.get("code", ""))[:64]
    async with request.app[SESSIONS]() as db:
        try:
            codes = await two_factor.confirm_enrollment(db, user, code, secret_box(request))
        except CasebookError as refused:
            if refused.code != "invalid_code":
                raise
            row = await two_factor.enrollment(db, user.id)
            if row is None:
                raise web.HTTPSeeOther(TWO_FACTOR_PAGE) from None
            context = _enrollment_context(
                user, secret_box(request).open(row.secret), error="invalid"
            )
            return await render(request, "account_two_factor.html", context, status=400)
        await _record_own(request, db, user, "auth.two_factor_enabled")
        await db.commit()
    return await render(request, "account_recovery_codes.html", {"codes": codes})


async def confirm_identity(
    request: web.Request, db: AsyncSession, user: User, form: Any
) -> dict[str, Any] | None:
    """Ask the signed-in person again before a security change: their password and, with a
    second factor on, a current code. None when both are right; else which field is wrong.

    A stolen session alone must not renew recovery codes, turn the factor off or change the
    password. Wrong answers count exactly as at sign-in: towards the lockout, and wrong codes
    towards the code step's refusal (`two_factor.check_code`), all audited.
    """
    password = str(form.get("password", ""))
    code = str(form.get("code", ""))[:64]
    locked = await refuse_locked(request, db, user.email) is not None
    # Under a lock the password is not even checked, as at sign-in: answered as wrong.
    if locked or not await accounts.password_matches(request.app[PASSWORDS], user, password):
        await _record_own(request, db, user, "auth.reauthentication_failed", {"field": "password"})
        if not locked:
            await note_failure(request, db, user.email)
        return {"field": "password"}
    if await two_factor.is_enabled(db, user.id):
        check = await two_factor.check_code(db, user.id, code, secret_box(request))
        if check.outcome == "refused":
            await _record_own(request, db, user, "auth.second_factor_refused", {"reauth": True})
            return {"field": "code", "wait": _wait(request, check)}
        if not check.accepted:
            detail: dict[str, Any] = {"reauth": True}
            if check.outcome == "reused":
                detail["reused"] = True
            await _record_own(request, db, user, "auth.second_factor_failed", detail)
            await note_failure(request, db, user.email)
            if check.refused_until is not None:
                await _record_own(
                    request, db, user, "auth.second_factor_locked",
                    {"failures": two_factor.MAX_FAILURES,
                     "until": check.refused_until.isoformat()},
                )
                log.warning("auth.second_factor_locked ip=%s", client_address(request))
                return {"field": "code", "wait": _wait(request, check)}
            return {"field": "code"}
        if check.outcome == "recovery":
            await _record_own(request, db, user, "auth.recovery_code_used")
    await lockout.record_success(db, user.email, client_address(request))
    return None


def _wait(request: web.Request, check: two_factor.CodeCheck) -> str:
    assert check.refused_until is not None
    return wait_words(request, max(1.0, (check.refused_until - utcnow()).total_seconds()))


async def _enabled_page(
    request: web.Request,
    db: AsyncSession,
    user: User,
    form: str,
    error: dict[str, Any],
) -> web.StreamResponse:
    """The second factor's status page again, the refused form's error next to its field."""
    context = {
        "enabled": True,
        "codes_left": await two_factor.recovery_codes_left(db, user.id),
        "required": two_factor.is_required(user),
        "form_error": {"form": form, **error},
    }
    await db.commit()  # the counted failures and their audit stay
    status = 429 if "wait" in error else 400
    return await render(request, "account_two_factor.html", context, status=status)


async def two_factor_new_codes(request: web.Request) -> web.StreamResponse:
    """Replace the recovery codes (the old ones stop working) after the password and a current
    code; show the new ones once."""
    user = require_user(request)
    form = await request.post()
    async with request.app[SESSIONS]() as db:
        if not await two_factor.is_enabled(db, user.id):
            raise web.HTTPSeeOther(TWO_FACTOR_PAGE)
        error = await confirm_identity(request, db, user, form)
        if error is not None:
            return await _enabled_page(request, db, user, "codes", error)
        codes = await two_factor.new_recovery_codes(db, user)
        await _record_own(request, db, user, "auth.recovery_codes_renewed")
        await db.commit()
    return await render(request, "account_recovery_codes.html", {"codes": codes})


async def two_factor_disable(request: web.Request) -> web.StreamResponse:
    """Turn the second factor off after the password and a current code (not for roles that
    require it)."""
    user = require_user(request)
    form = await request.post()
    async with request.app[SESSIONS]() as db:
        if two_factor.is_required(user):
            await two_factor.disable(db, user)  # refuses, with the role's reason
        if not await two_factor.is_enabled(db, user.id):
            raise web.HTTPSeeOther(TWO_FACTOR_PAGE)
        error = await confirm_identity(request, db, user, form)
        if error is not None:
            return await _enabled_page(request, db, user, "disable", error)
        await two_factor.disable(db, user)
        await _record_own(request, db, user, "auth.two_factor_disabled")
        await db.commit()
    raise web.HTTPSeeOther("/account")


# ---------------------------------------------------------------- changing the password


async def password_form(request: web.Request) -> web.StreamResponse:
    """Change my password: the current one (and a code, with a second factor on), the new one."""
    user = require_user(request)
    async with request.app[SESSIONS]() as db:
        enabled = await two_factor.is_enabled(db, user.id)
    return await render(request, "account_password.html", _password_context(user, enabled))


def _password_context(
    user: User, two_factor_enabled: bool, error: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "email": user.email,
        "two_factor_enabled": two_factor_enabled,
        "error": error or {},
        "min_length": 10,
    }


async def password_change(request: web.Request) -> web.StreamResponse:
    """Set a new password after the current one (and a current code); other sessions end."""
    user = require_user(request)
    form = await request.post()
    new = str(form.get("new_password", ""))
    repeated = str(form.get("new_password_again", ""))
    current = current_session(request)
    async with request.app[SESSIONS]() as db:
        enabled = await two_factor.is_enabled(db, user.id)
        error = await confirm_identity(request, db, user, form)
        if error is None and new != repeated:
            error = {"field": "new_password", "kind": "mismatch"}
        if error is None:
            try:
                accounts.check_new_password(new)
            except CasebookError:
                error = {"field": "new_password", "kind": "weak"}
        if error is not None:
            await db.commit()  # the counted failures and their audit stay
            status = 429 if "wait" in error else 400
            context = _password_context(user, enabled, error)
            return await render(request, "account_password.html", context, status=status)
        stored = await db.get(User, user.id)
        if stored is None:
            raise NotFound()
        await accounts.set_password(request.app[PASSWORDS], stored, new)
        # Whoever signed in elsewhere with the old password is signed out.
        ended = await account_sessions.end_all_sessions(
            db, user.id, keep=current.id if current else None
        )
        await _record_own(request, db, user, "auth.password_changed", {"sessions_ended": ended})
        await db.commit()
    if ended:
        await request.app[CALL_NAMESPACE].disconnect_user(user.id)
    raise web.HTTPSeeOther("/account")


# ---------------------------------------------------------------- accepting an invitation


async def invitation_form(request: web.Request) -> web.StreamResponse:
    """The page an invitation link opens: choose a password."""
    async with request.app[SESSIONS]() as db:
        user = await _invited(request, db)
        if user is None:
            return await _invalid_invitation(request, db)
    return await render(request, "account_invitation.html", _invite_context(user))


async def _invalid_invitation(request: web.Request, db: AsyncSession) -> web.StreamResponse:
    """A dead link: say so, and whether its person has chosen a password (then: sign in)."""
    used = await invitations.already_accepted(db, request.match_info["token"])
    context = {"invalid": True, "used": used}
    return await render(request, "account_invitation.html", context, status=404)


def _invite_context(user: User, error: str | None = None) -> dict[str, Any]:
    return {
        "invalid": False,
        "email": user.email,
        "name": user.display_name,
        "error": error,
        "min_length": 10,
    }


async def invitation_accept(request: web.Request) -> web.StreamResponse:
    """Set the invited person's password (the link then stops working) and sign them in."""
    form = await request.post()
    password = str(form.get("password", ""))
    repeated = str(form.get("password_again", ""))
    async with request.app[SESSIONS]() as db:
        user = await _invited(request, db)
        if user is None:
            return await _invalid_invitation(request, db)
        error = None
        if password != repeated:
            error = "mismatch"
        else:
            try:
                accounts.check_new_password(password)
            except CasebookError:
                error = "weak"
        if error is not None:
            context = _invite_context(user, error)
            return await render(request, "account_invitation.html", context, status=400)
        passwords = request.app[PASSWORDS]
        user.password_hash = await asyncio.to_thread(passwords.hash, password)
        await _record_own(request, db, user, "auth.invitation_accepted")
        await db.flush()
        # A link is not a second factor: an account that has one is asked for its code, as at
        # sign-in. Admins and coordinators without one enroll first (the gate sends them there).
        raise await password_accepted(request, db, user, "/dashboard")


async def _invited(request: web.Request, db: AsyncSession) -> User | None:
    token = request.match_info["token"]
    return await invitations.find_invited(db, request.app[SETTINGS].secret_key, token)


# ---------------------------------------------------------------- personal data export


class PersonalDataOut(BaseModel):
    """Everything Junta holds about the caller as a person (see `casebook.personal_data`)."""

    exported_at: str
    format: str
    profile: dict[str, Any]
    sessions: list[dict[str, Any]]
    security: dict[str, Any]
    room_invitations: list[dict[str, Any]]
    mail: list[dict[str, Any]]
    consents: list[dict[str, Any]]
    audit: list[dict[str, Any]]


async def export_personal_data(request: web.Request) -> web.StreamResponse:
    """The caller's personal data as a JSON download; audited."""
    user = require_user(request)
    async with request.app[SESSIONS]() as db:
        stored = await db.get(User, user.id)
        if stored is None:
            raise NotFound()
        await _record_own(request, db, user, "privacy.export")
        await db.flush()
        data = await personal_data.export(db, stored, now=utcnow())
        await db.commit()
    day = data["exported_at"][:10]
    return web.Response(
        text=json.dumps(data, ensure_ascii=False, indent=2),
        content_type="application/json",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="junta-personal-data-{day}.json"',
        },
    )


# ---------------------------------------------------------------- routes


def _page(
    method: str, path: str, handler: Any, name: str, summary: str, roles: Any = ALL_ROLES
) -> Route:
    return Route(
        method, path, handler, name=name, summary=summary, description=summary, roles=roles,
        tag="pages", page=True,
    )


def routes() -> list[Route]:
    """The account pages (HTML) and the personal data export (JSON)."""
    return [
        _page("GET", TWO_FACTOR_LOGIN, login_two_factor_form, "login-two-factor",
              "Second sign-in step", roles=None),
        _page("POST", TWO_FACTOR_LOGIN, login_two_factor_submit, "login-two-factor-submit",
              "Check the second factor", roles=None),
        _page("GET", "/account", account_page, "account", "My account"),
        _page("GET", "/account/sessions", sessions_page, "account-sessions", "My sessions"),
        _page("POST", "/account/sessions/end", end_session, "account-session-end",
              "End one of my sessions"),
        _page("POST", "/account/sessions/end-others", end_other_sessions,
              "account-sessions-end-others", "End my other sessions"),
        _page("GET", TWO_FACTOR_PAGE, two_factor_page, "account-two-factor",
              "Two-factor sign-in"),
        _page("POST", TWO_FACTOR_PAGE, two_factor_confirm, "account-two-factor-confirm",
              "Turn two-factor sign-in on"),
        _page("POST", TWO_FACTOR_PAGE + "/recovery-codes", two_factor_new_codes,
              "account-two-factor-codes", "New recovery codes"),
        _page("POST", TWO_FACTOR_PAGE + "/disable", two_factor_disable,
              "account-two-factor-disable", "Turn two-factor sign-in off"),
        _page("GET", PASSWORD_PAGE, password_form, "account-password", "Change my password"),
        _page("POST", PASSWORD_PAGE, password_change, "account-password-change",
              "Set a new password"),
        _page("GET", "/invitation/{token}", invitation_form, "invitation",
              "Accept an invitation", roles=None),
        _page("POST", "/invitation/{token}", invitation_accept, "invitation-accept",
              "Choose a password", roles=None),
        Route(
            "GET", "/api/me/export", export_personal_data, name="api-me-export",
            summary="Download my personal data",
            description=(
                "Everything Junta holds about the caller as a person: profile, sign-in "
                "sessions, second-factor state, room invitations, mail, consents and the audit "
                "trail of their own actions, as a JSON file. Audited (`privacy.export`)."
            ),
            roles=ALL_ROLES, response=PersonalDataOut, tag="account",
        ),
    ]
