"""Helpers for the tests of the casebook's services (no web app): the demo people as callers,
the audit trail of one target."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebook.cases import Caller
from casebook.models import AuditEvent, User

CALLER_IP = "10.0.0.7"


async def callers(db: AsyncSession) -> dict[str, Caller]:
    """Every demo user as a caller from `CALLER_IP`, by e-mail address."""
    users = (await db.scalars(select(User))).all()
    return {u.email: Caller.of(u, CALLER_IP) for u in users}


async def audit_trail(db: AsyncSession, target_type: str, target_id: str) -> list[str]:
    """The actions audited on one target (e.g. "case", its code), oldest first."""
    query = (
        select(AuditEvent.action)
        .where(AuditEvent.target_type == target_type, AuditEvent.target_id == target_id)
        .order_by(AuditEvent.id)
    )
    return list((await db.scalars(query)).all())
