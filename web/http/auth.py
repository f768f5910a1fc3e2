"""Who is signed in: the session cookie, its server-side row, and the helpers handlers use."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from aiohttp import web

from casebook import accounts
from casebook.models import User, UserSession
from web.app.keys import SESSIONS, SETTINGS, USER, USER_SESSION
from web.app.settings import Settings
from web.http.errors import SignInRequired
from web.http.forwarded import resolve_client

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler

SESSION_COOKIE = "junta_session"
# Whether the signed-in user has confirmed a second factor (read with their session).
TWO_FACTOR_ENABLED = web.RequestKey("two_factor_enabled", bool)

# Requests that never need to know the user (and must stay cheap).
_ANONYMOUS_PREFIXES = ("/static/", "/socket.io/", "/healthz", "/readyz", "/metrics")


def is_anonymous_path(path: str) -> bool:
    """True for paths served without looking up a session."""
    return path.startswith(_ANONYMOUS_PREFIXES)


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Attach the signed-in user (`request[USER]`, `request[USER_SESSION]`), if any."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or is_anonymous_path(request.path):
        return await handler(request)
    # One query (session, user, center, second factor); the rare write (a throttled last-seen
    # touch, ending an idle session) is committed before the handler runs.
    async with request.app[SESSIONS]() as db:
        found = await accounts.find_signed_in(
            db, token, idle=timedelta(minutes=request.app[SETTINGS].session_idle_minutes)
        )
        if found is not None:
            accounts.touch_session(found.session)
            request[USER_SESSION] = found.session
            request[USER] = found.session.user
            request[TWO_FACTOR_ENABLED] = found.two_factor_enabled
        await db.commit()
    response = await handler(request)
    if found is None and not response.prepared and SESSION_COOKIE not in response.cookies:
        response.del_cookie(SESSION_COOKIE, path="/")  # a stale cookie
    return response


def current_user(request: web.Request) -> User | None:
    """The signed-in user of this request, or None."""
    return request.get(USER)


def require_user(request: web.Request) -> User:
    """The signed-in user; raises `SignInRequired` (page: redirect, API: 401) otherwise."""
    user = current_user(request)
    if user is None:
        raise SignInRequired()
    return user


def current_session(request: web.Request) -> UserSession | None:
    """The live session row of this request, or None."""
    return request.get(USER_SESSION)


def set_session_cookie(response: web.StreamResponse, token: str, settings: Settings) -> None:
    """Hand the browser its session token: HttpOnly, SameSite=Lax, Secure behind TLS."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=settings.cookie_secure,
    )


def client_address(request: web.Request) -> str:
    """The client's IP address: the peer's, or behind JUNTA_TRUSTED_PROXIES the one they name."""
    proxies = request.app[SETTINGS].trusted_proxies
    if not proxies:
        return request.remote or "unknown"
    return resolve_client(request.remote, request.headers.getall("X-Forwarded-For", ()), proxies)
