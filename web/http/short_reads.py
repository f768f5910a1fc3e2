"""Short reads (the listings) run on the connection that looked up the caller's session.

Every signed-in request first reads its session (`web.http.auth.session_middleware`) on a pooled
connection. A listing then needs one more statement and its audit event; taking a second
connection from the pool for them cost as much CPU as a statement (the pool's checkout and
return, the connection's first statement). A route declared `short_read` keeps the lookup's
connection for its handler instead; every other route gives it back before its handler runs,
so a long request (an upload, a transaction) never holds two. The listing and its audit event
run on the bare connection (`casebook.db.Db`): they need no session's bookkeeping.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from web.app.keys import AUTOCOMMIT_ENGINE

SHORT_READS = web.AppKey("short_reads", set)  # names of the routes declared `short_read`
LOOKUP_CONNECTION = web.RequestKey("lookup_connection", AsyncConnection)


def declare_short_read(app: web.Application, route_name: str) -> None:
    """Let the route's handler read on the session lookup's connection."""
    app.setdefault(SHORT_READS, set()).add(route_name)


def is_short_read(request: web.Request) -> bool:
    """True when the request's route was declared a short read."""
    return request.match_info.route.name in request.app.get(SHORT_READS, ())


@asynccontextmanager
async def read_connection(request: web.Request) -> AsyncIterator[AsyncConnection]:
    """An autocommit connection for a short read: the lookup's when the route keeps it, one of
    its own otherwise (signed out; an error page)."""
    kept = request.get(LOOKUP_CONNECTION)
    if kept is not None:
        yield kept
        return
    async with request.app[AUTOCOMMIT_ENGINE].connect() as connection:
        yield connection
