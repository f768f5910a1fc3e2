"""Account lockout: after N consecutive failed sign-ins an address is locked for a while.

State is a row per typed address (`AccountLockout`) in the database, so it survives restarts
and every process shares it; failures are counted with one atomic upsert. Unknown addresses
lock exactly like real ones, so the lock tells an attacker nothing about which accounts exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from casebook.clock import utcnow
from casebook.models import AccountLockout, normalize_email


@dataclass(frozen=True)
class LockoutPolicy:
    """How many consecutive failures lock an address, and for how long."""

    threshold: int = 20
    duration: timedelta = timedelta(minutes=15)


async def locked_until(
    db: AsyncSession, email: str, *, now: datetime | None = None
) -> datetime | None:
    """When the lock on `email` ends, or None when it is not locked now."""
    row = await db.get(AccountLockout, normalize_email(email), populate_existing=True)
    now = now or utcnow()
    if row is None or row.locked_until is None or row.locked_until <= now:
        return None
    return row.locked_until


async def record_failure(
    db: AsyncSession, email: str, policy: LockoutPolicy, *, now: datetime | None = None
) -> datetime | None:
    """Count one failure; returns the lock's end when this failure locked the address."""
    now = now or utcnow()
    email = normalize_email(email)
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(AccountLockout)
        .values(email=email, failures=1, last_failure_at=now)
        .on_conflict_do_update(
            index_elements=[AccountLockout.email],
            set_={"failures": AccountLockout.failures + 1, "last_failure_at": now},
        )
        .returning(AccountLockout.failures)
    )
    failures = (await db.execute(statement)).scalar_one()
    if failures < policy.threshold:
        return None
    until = now + policy.duration
    # The count starts over: after the lock, another `threshold` failures lock again.
    await db.execute(
        update(AccountLockout)
        .where(AccountLockout.email == email)
        .values(failures=0, locked_until=until)
    )
    return until


async def record_success(db: AsyncSession, email: str) -> None:
    """A successful sign-in starts the count of consecutive failures over."""
    await db.execute(
        update(AccountLockout)
        .where(AccountLockout.email == normalize_email(email))
        .values(failures=0)
    )


async def unlock(db: AsyncSession, email: str) -> None:
    """Lift a lock (an administrator's decision) and forget the failures."""
    await db.execute(
        update(AccountLockout)
        .where(AccountLockout.email == normalize_email(email))
        .values(failures=0, locked_until=None)
    )
