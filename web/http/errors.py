"""The web layer's one error type, its HTTP statuses, and the JSON body of an API failure.

`web.http.error_replies` turns these (and casebook refusals, and anything unexpected) into
replies; this module renders nothing, so everything that refuses a request can import it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web


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


class Throttled(WebError):
    """A 429: the client must wait `retry_after` seconds (the reply's Retry-After)."""

    def __init__(self, code: str, message: str, retry_after: float) -> None:
        super().__init__(429, code, message)
        self.retry_after = retry_after


class TooManyAttempts(Throttled):
    """Sign-in attempts are throttled for this account or address."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("too_many_attempts", "too many failed sign-in attempts", retry_after)


class RateLimited(Throttled):
    """Too many requests of one kind from one client address (e.g. the network check's)."""

    def __init__(self, retry_after: float, message: str = "too many requests") -> None:
        super().__init__("rate_limited", message, retry_after)


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
    "session_not_started": 409,
    "invitee_outside_centers": 403,
    "too_large": 413,
    "unsupported_type": 415,
    "identifiers_found": 422,
}


def is_api(request: web.Request) -> bool:
    """True for requests answered in JSON."""
    return request.path.startswith("/api/") or request.path in ("/healthz", "/readyz", "/metrics")


def json_error(
    status: int, code: str, message: str, extra: dict[str, Any] | None = None
) -> web.Response:
    """The JSON body every API failure has."""
    error = {"code": code, "message": message, **(extra or {})}
    return web.json_response({"error": error}, status=status)
