"""The audit trail: who did what to which thing, when and from where. Never patient data."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from casebook.clock import utcnow
from casebook.db import Db, core_connection
from casebook.models import AuditEvent

log = logging.getLogger("junta.audit")
R = TypeVar("R")
T = TypeVar("T")
# Built once: the statement (and its compiled form, in the engine's cache) is reused.
_INSERT = insert(cast(Table, AuditEvent.__table__))


async def record(
    session: Db,
    action: str,
    *,
    actor_user_id: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Append one event (e.g. `auth.login`) to the trail, in the session's transaction; the
    caller commits.

    One prebuilt INSERT sent now rather than an object left for the unit of work: every read of
    a case writes one, and building and flushing an ORM object costs more than the statement.
    """
    # On the session's connection (its transaction; a user or case the event names flushed
    # first): a Core INSERT needs none of the ORM's handling of a statement.
    connection = await core_connection(session)
    await connection.execute(
        _INSERT,
        {
            "at": at or utcnow(),
            "actor_user_id": actor_user_id,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "ip": ip,
            "detail": detail or {},
        },
    )
    log.info(
        "audit action=%s actor=%s target=%s:%s ip=%s",
        action,
        actor_user_id,
        target_type,
        target_id,
        ip,
    )


async def recorded(
    recording: Coroutine[Any, Any, None], value: T, reply: Callable[[T], Awaitable[R]] | None
) -> T | R:
    """`value`, or what `reply(value)` returns, once `recording` (a `record(...)` call) is in.

    For a read whose reply takes building (a page rendered, a JSON body): the database writes
    (and, on an autocommit session, flushes to disk) the event while `reply` builds the reply,
    not before it; the reply still leaves only after the event is committed, and not at all if
    recording fails. `reply` must not use the recording's session (its connection is busy).
    """
    task = asyncio.ensure_future(recording)
    await asyncio.sleep(0)  # the INSERT is sent before the reply takes the thread
    try:
        return value if reply is None else await reply(value)
    finally:
        await task


async def events(
    session: AsyncSession, *, action: str | None = None, limit: int = 100
) -> list[AuditEvent]:
    """The newest events first, optionally only one action."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return list((await session.scalars(query)).all())


async def search(
    session: AsyncSession,
    *,
    actor_user_id: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEvent]:
    """Events matching every given filter, newest first (`until` exclusive); for the admin view.

    `action` ending in `.` matches a family (`case.` → every case action).
    """
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit).offset(offset)
    if actor_user_id is not None:
        query = query.where(AuditEvent.actor_user_id == actor_user_id)
    if action is not None:
        if action.endswith("."):
            query = query.where(AuditEvent.action.startswith(action, autoescape=True))
        else:
            query = query.where(AuditEvent.action == action)
    if target_type is not None:
        query = query.where(AuditEvent.target_type == target_type)
    if target_id is not None:
        query = query.where(AuditEvent.target_id == target_id)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    return list((await session.scalars(query)).all())
