"""Cross-site request forgery protection for every state-changing request.

Signed in, the token is the session's (`UserSession.csrf_token`); before sign-in it is a random
value in the `junta_csrf` cookie (double submit), so the sign-in form is protected too. A request
proves it comes from our pages by sending the token in the `X-CSRF-Token` header or a
`csrf_token` form field. Pages carry it in `<meta name="csrf-token">` and in their forms.
socket.io's own polling requests are exempt: joining needs a token only our pages can fetch.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from aiohttp import web

from web.app.keys import CSRF_COOKIE_NEW, CSRF_TOKEN
from web.app.settings import Settings
from web.http.auth import current_session
from web.http.errors import CsrfFailed

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler

CSRF_COOKIE = "junta_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EXEMPT_PREFIXES = ("/socket.io/",)
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse unsafe requests without the right token; expose it as request[CSRF_TOKEN]."""
    if request.path.startswith(EXEMPT_PREFIXES):
        return await handler(request)
    session = current_session(request)
    expected = session.csrf_token if session else _valid(request.cookies.get(CSRF_COOKIE))
    if expected is None:
        expected = secrets.token_urlsafe(32)
        request[CSRF_COOKIE_NEW] = True
    request[CSRF_TOKEN] = expected
    if request.method in UNSAFE_METHODS:
        provided = request.headers.get(CSRF_HEADER)
        if provided is None and request.content_type in _FORM_TYPES:
            field = (await request.post()).get(CSRF_FIELD)
            provided = field if isinstance(field, str) else None
        if (
            request.get(CSRF_COOKIE_NEW)
            or not provided
            or not secrets.compare_digest(provided.encode(), expected.encode())
        ):
            raise CsrfFailed()
    return await handler(request)


def _valid(token: str | None) -> str | None:
    if token and 20 <= len(token) <= 100 and token.isascii():
        return token
    return None


def csrf_token(request: web.Request) -> str:
    """The token pages must embed in forms and the `csrf-token` meta tag."""
    return request.get(CSRF_TOKEN, "")


def set_anonymous_cookie(
    request: web.Request, response: web.StreamResponse, settings: Settings
) -> None:
    """Give a first-time visitor the pre-sign-in token cookie the page's forms carry."""
    if request.get(CSRF_COOKIE_NEW) and CSRF_COOKIE not in response.cookies:
        response.set_cookie(
            CSRF_COOKIE,
            csrf_token(request),
            path="/",
            httponly=True,
            samesite="Lax",
            secure=settings.cookie_secure,
        )
