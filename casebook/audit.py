"""The audit trail: who did what to which thing, when and from where. Never patient data."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from casebook.clock import utcnow
from casebook.models import AuditEvent

log = logging.getLogger("junta.audit")
# Built once: the statement (and its compiled form, in the engine's cache) is reused.
_INSERT = insert(cast(Table, AuditEvent.__table__))


async def record(
    session: AsyncSession,
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
    await session.flush()  # a user or case the event names goes in first (a Core statement)
    await session.execute(
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
