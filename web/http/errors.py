"""The web layer's one error type, and the one place that turns errors into HTTP replies.

Under `/api/` a failure is JSON `{"error": {"code", "message"}}`; elsewhere it is a friendly,
translated HTML page. Unexpected exceptions are logged with a reference the page shows; the
user never sees a traceback.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from typing import TYPE_CHECKING, Any

from aiohttp import web

from casebook.errors import CasebookError
from casebook.identifiers import IdentifiersFound
from web.http.db_errors import database_unreachable

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler

log = logging.getLogger("junta.web")

# Refused and failed requests by error code, for `/metrics` (set up by `web.http.health`).
HTTP_ERRORS = web.AppKey("http_errors", Counter[str])


class StartupError(RuntimeError):
    """The application cannot start as configured; the message says what to do."""


class WebError(Exception):
    """A request the web layer refuses: HTTP `status`, stable `code`, English `message`."""

    def __init__(
        self, status: int, code: str, message: str, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        # More of the error object for API clients (e.g. the findings of `identifiers_found`).
        self.extra = extra or {}


class SignInRequired(WebError):
    """The request needs a signed-in user (pages redirect to the sign-in form instead)."""

    def __init__(self) -> None:
        super().__init__(401, "not_signed_in", "sign in first")


class NotFound(WebError):
    """Nothing here for this user (also used when a user may not know something exists)."""

    def __init__(self, message: str = "not found") -> None:
        super().__init__(404, "not_found", message)


class CsrfFailed(WebError):
    """A state-changing request without the session's CSRF token."""

    def __init__(self) -> None:
        super().__init__(403, "csrf_failed", "missing or wrong CSRF token")


class TooManyAttempts(WebError):
    """Sign-in attempts are throttled for this account or address."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(429, "too_many_attempts", "too many failed sign-in attempts")
        self.retry_after = retry_after


class DatabaseUnavailable(WebError):
    """The database cannot be reached right now (web.http.db_errors); the request may be retried."""

    def __init__(self) -> None:
        super().__init__(
            503, "database_unavailable",
            "the database cannot be reached right now; try again in a moment",
        )


# Casebook refusals by code; any other code is a request that does not fit (400).
CASEBOOK_STATUS = {
    "not_found": 404,
    "not_allowed": 403,
    "illegal_transition": 409,
    "session_not_empty": 409,
    "too_large": 413,
    "unsupported_type": 415,
    "identifiers_found": 422,
}

_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}


def is_api(request: web.Request) -> bool:
    """True for requests answered in JSON."""
    return request.path.startswith("/api/") or request.path in ("/healthz", "/readyz", "/metrics")


def json_error(
    status: int, code: str, message: str, extra: dict[str, Any] | None = None
) -> web.Response:
    """The JSON body every API failure has."""
    error = {"code": code, "message": message, **(extra or {})}
    return web.json_response({"error": error}, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure into a reply: JSON under /api, a friendly page elsewhere."""
    try:
        return await handler(request)
    except WebError as refused:
        return await _reply(request, refused)
    except CasebookError as refused:
        status = CASEBOOK_STATUS.get(refused.code, 400)
        extra = None
        if isinstance(refused, IdentifiersFound):
            extra = {"findings": [
                {"field": f.field, "kind": f.kind.value, "masked": f.masked}
                for f in refused.findings
            ]}
        return await _reply(request, WebError(status, refused.code, refused.message, extra))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _CODES.get(exc.status, "http_error")
        return await _reply(request, WebError(exc.status, code, exc.reason))
    except Exception as failed:
        if database_unreachable(failed):
            log.warning("request.database_unavailable method=%s path=%s error=%s",
                        request.method, request.path, type(failed).__name__)
            return await _reply(request, DatabaseUnavailable())
        reference = uuid.uuid4().hex[:12]
        log.exception(
            "request.failed ref=%s method=%s path=%s", reference, request.method, request.path
        )
        failure = WebError(500, "internal", f"internal error (reference {reference})")
        return await _reply(request, failure, reference=reference)


async def _reply(
    request: web.Request, error: WebError, reference: str | None = None
) -> web.StreamResponse:
    counted = request.app.get(HTTP_ERRORS)
    if counted is not None:
        counted[error.code] += 1
    headers = {}
    if isinstance(error, TooManyAttempts):
        headers["Retry-After"] = str(max(1, int(error.retry_after)))
    if isinstance(error, DatabaseUnavailable):
        headers["Retry-After"] = "5"
    if is_api(request):
        response = json_error(error.status, error.code, error.message, error.extra)
        response.headers.update(headers)
        return response
    if isinstance(error, SignInRequired):
        return web.Response(status=303, headers={"Location": _login_url(request)})
    # Imported here: pages render through the i18n environment, which imports this module.
    from web.render.context import render, wait_words

    context: dict[str, Any] = {
        "status": error.status, "code": error.code, "reference": reference,
    }
    if isinstance(error, TooManyAttempts):
        context["wait"] = wait_words(request, error.retry_after)
    try:
        response = await render(request, "error.html", context, status=error.status)
    except Exception:
        log.exception("error_page.failed status=%s", error.status)
        response = web.Response(text=f"Error {error.status}", status=error.status)
    response.headers.update(headers)
    return response


def _login_url(request: web.Request) -> str:
    from urllib.parse import urlencode

    if request.method == "GET" and request.path != "/":
        return "/login?" + urlencode({"next": request.path_qs})
    return "/login"
