"""The one place that turns errors into HTTP replies.

Under `/api/` a failure is JSON `{"error": {"code", "message"}}`; elsewhere it is a friendly,
translated HTML page. Unexpected exceptions are logged with a reference the page shows; the
user never sees a traceback.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from casebook.errors import CasebookError
from casebook.identifiers import IdentifiersFound
from web.http.db_errors import database_unreachable
from web.http.errors import (
    CASEBOOK_STATUS,
    DatabaseUnavailable,
    SignInRequired,
    Throttled,
    TooManyAttempts,
    WebError,
    is_api,
    json_error,
)
from web.render.context import render, wait_words

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler

log = logging.getLogger("junta.web")

# Refused and failed requests by error code, for `/metrics` (set up by the app factory).
HTTP_ERRORS = web.AppKey("http_errors", Counter[str])

# aiohttp's own refusals (no route, wrong method) by status.
_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}


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
    if isinstance(error, Throttled):
        headers["Retry-After"] = str(max(1, int(error.retry_after)))
    if isinstance(error, DatabaseUnavailable):
        headers["Retry-After"] = "5"
    if is_api(request):
        response = json_error(error.status, error.code, error.message, error.extra)
        response.headers.update(headers)
        return response
    if isinstance(error, SignInRequired):
        return web.Response(status=303, headers={"Location": _login_url(request)})
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
    if request.method == "GET" and request.path != "/":
        return "/login?" + urlencode({"next": request.path_qs})
    return "/login"
