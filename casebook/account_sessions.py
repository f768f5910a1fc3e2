"""A person's own sign-in sessions: which are live, and ending them (one, all others, all)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from casebook.clock import utcnow
from casebook.models import UserSession


async def live_sessions(
    db: AsyncSession, user_id: str, *, idle: timedelta, now: datetime | None = None
) -> list[UserSession]:
    """The user's sessions that still sign them in, most recently used first."""
    now = now or utcnow()
    query = (
        select(UserSession)
        .where(
            UserSession.user_id == user_id,
            UserSession.ended_at.is_(None),
            UserSession.last_seen_at > now - idle,
        )
        .order_by(UserSession.last_seen_at.desc(), UserSession.created_at.desc())
    )
    return list((await db.scalars(query)).unique().all())


async def end_own_session(
    db: AsyncSession, user_id: str, session_id: str, *, now: datetime | None = None
) -> bool:
    """End one of the user's live sessions by its id; False when it is not theirs or not live."""
    result = await db.execute(
        update(UserSession)
        .where(
            UserSession.id == session_id,
            UserSession.user_id == user_id,
            UserSession.ended_at.is_(None),
        )
        .values(ended_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def end_all_sessions(
    db: AsyncSession, user_id: str, *, keep: str | None = None, now: datetime | None = None
) -> int:
    """End every live session of the user (but `keep`); returns how many ended."""
    query = (
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    if keep is not None:
        query = query.where(UserSession.id != keep)
    result = await db.execute(query)
    return int(getattr(result, "rowcount", 0))
