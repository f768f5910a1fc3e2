"""Refused attempts to reach a case are audited too.

A case the caller may not see is answered 404 (`cases.CaseNotFound`), and the handler's
transaction — with anything it recorded — is rolled back. So the refusal is written here, after
the fact, in a transaction of its own: who asked for which code, from where, on which route.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiohttp import web

from casebook import audit
from casebook.cases import CaseNotFound
from web.app.keys import REFUSED_CASE_CODE, SESSIONS
from web.http.auth import client_address, current_user

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler

log = logging.getLogger("junta.web")

REFUSED_ACTION = "case.access_refused"


@web.middleware
async def refused_access_middleware(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """Audit `case.access_refused` when a signed-in caller is refused a case; then re-raise."""
    try:
        return await handler(request)
    except CaseNotFound:
        user = current_user(request)
        if user is not None:
            await _record(request, user.id)
        raise


async def _record(request: web.Request, user_id: str) -> None:
    code = request.match_info.get("code") or request.get(REFUSED_CASE_CODE)
    try:
        async with request.app[SESSIONS]() as db:
            await audit.record(
                db,
                REFUSED_ACTION,
                actor_user_id=user_id,
                target_type="case",
                target_id=code[:64] if code else None,
                ip=client_address(request),
                detail={"method": request.method, "route": _route_name(request)},
            )
            await db.commit()
    except Exception:
        # The refusal itself must still be answered; a failed audit write is logged loudly.
        log.exception("audit.refusal_failed path=%s", request.path)


def _route_name(request: web.Request) -> str:
    route = request.match_info.route
    if route.name:
        return route.name
    return route.resource.canonical if route.resource is not None else ""
