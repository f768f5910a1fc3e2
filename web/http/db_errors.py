"""Telling "the database is unreachable" apart from every other failure.

While PostgreSQL is down (restarting, failing over, the network to it cut) requests that touch
it answer 503 `database_unavailable` instead of 500: nothing is wrong with the request, trying
again shortly will work, and calls in progress (which do not need the database) go on. The
pool drops a connection that failed this way, so requests work again as soon as it is back.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import asyncpg
from sqlalchemy import exc as sa_exc

# asyncpg's own view of a connection that is gone, being refused or shut down by an operator.
_ASYNCPG_UNREACHABLE: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.exceptions.OperatorInterventionError,  # class 57: shutdown, cannot connect now
)


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        current = (orig if isinstance(orig, BaseException) else None) or current.__cause__ \
            or current.__context__


def database_unreachable(error: BaseException) -> bool:
    """True when `error` (or what caused it) means the database server cannot be reached."""
    for found in _chain(error):
        if isinstance(found, sa_exc.DBAPIError) and found.connection_invalidated:
            return True
        if isinstance(found, sa_exc.TimeoutError):  # no pooled connection came free in time
            return True
        if isinstance(found, (ConnectionError, TimeoutError, socket.gaierror,
                              *_ASYNCPG_UNREACHABLE)):
            return True
    return False
