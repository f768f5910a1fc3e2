"""Sign-in lockout keyed by (e-mail, address) and by address; the account alone is only slowed.

A lock is never a weapon: 20 wrong passwords from one address lock that address out of that
account, and an address spraying many accounts locks itself out of all of them, but nobody at
another address is locked out. The account alone (failures from every address) only earns a short
growing delay, capped, so a botnet slows its guesses without keeping the owner out.

State is rows of `AccountLockout` in the database, so it survives restarts and every process
shares it; failures are counted with one atomic upsert per row. Unknown e-mails lock exactly like
real ones, so a lock tells an attacker nothing about which accounts exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, and_, case, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from casebook.clock import utcnow
from casebook.models import AccountLockout, normalize_email

# The empty part of a key: (e-mail, ANY) counts the account from everywhere, (ANY, address) an
# address across every account it types.
ANY = ""

Scope = Literal["account_at_address", "address", "account"]

# Past 2**30 seconds the cap wins anyway; the bound keeps the float in range.
_MAX_DOUBLINGS = 30


@dataclass(frozen=True)
class LockoutPolicy:
    """When (e-mail, address) and address locks start, how long they last; the account's delay."""

    threshold: int = 20
    duration: timedelta = timedelta(minutes=15)
    address_threshold: int = 100
    account_delay_after: int = 40
    account_delay_cap: timedelta = timedelta(seconds=60)


@dataclass(frozen=True)
class Refusal:
    """Why and until when a sign-in is refused now."""

    scope: Scope
    until: datetime


def lockout_keys(email: str, address: str) -> dict[Scope, tuple[str, str]]:
    """The (e-mail, address) rows one attempt counts on, by scope."""
    return {
        "account_at_address": (email, address),
        "address": (ANY, address),
        "account": (email, ANY),
    }


def growing_delay(failures: int, after: int, cap: float) -> float | None:
    """Seconds the next try waits after `failures` in a row: none below `after`, then 1, 2, 4...

    At most `cap`; never a lock.
    """
    if failures < after:
        return None
    return min(cap, 2.0 ** min(failures - after, _MAX_DOUBLINGS))


def _where_key(email: str, address: str) -> ColumnElement[bool]:
    return and_(AccountLockout.email == email, AccountLockout.address == address)


async def locked_until(
    db: AsyncSession, email: str, address: str, *, now: datetime | None = None
) -> Refusal | None:
    """The refusal that lasts longest for `email` typed at `address`, or None when free now."""
    now = now or utcnow()
    keys = lockout_keys(normalize_email(email), address)
    rows = (
        await db.execute(
            select(AccountLockout.email, AccountLockout.address, AccountLockout.locked_until)
            .where(or_(*(_where_key(*key) for key in keys.values())))
            .where(AccountLockout.locked_until > now)
            .execution_options(populate_existing=True)
        )
    ).all()
    scope_of = {key: scope for scope, key in keys.items()}
    refusals = [Refusal(scope_of[(row.email, row.address)], row.locked_until) for row in rows]
    return max(refusals, key=lambda r: r.until, default=None)


async def _count(db: AsyncSession, key: tuple[str, str], now: datetime, quiet: timedelta) -> int:
    """One atomic upsert; a count idle for longer than `quiet` starts over."""
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stale = or_(
        AccountLockout.last_failure_at.is_(None), AccountLockout.last_failure_at < now - quiet
    )
    statement = (
        insert(AccountLockout)
        .values(email=key[0], address=key[1], failures=1, last_failure_at=now)
        .on_conflict_do_update(
            index_elements=[AccountLockout.email, AccountLockout.address],
            set_={
                "failures": case((stale, 1), else_=AccountLockout.failures + 1),
                "last_failure_at": now,
            },
        )
        .returning(AccountLockout.failures)
    )
    return int((await db.execute(statement)).scalar_one())


async def _set(db: AsyncSession, key: tuple[str, str], **values: object) -> None:
    await db.execute(update(AccountLockout).where(_where_key(*key)).values(**values))


async def record_failure(
    db: AsyncSession,
    email: str,
    address: str,
    policy: LockoutPolicy,
    *,
    now: datetime | None = None,
) -> Refusal | None:
    """Count one failure on the three keys; returns the lock this failure started, if any."""
    now = now or utcnow()
    keys = lockout_keys(normalize_email(email), address)
    started: Refusal | None = None
    # A lock's count starts over when it is set: after the lock, another `threshold` lock again.
    locks: tuple[tuple[Scope, int], ...] = (
        ("account_at_address", policy.threshold),
        ("address", policy.address_threshold),
    )
    for scope, threshold in locks:
        if await _count(db, keys[scope], now, policy.duration) >= threshold:
            started = Refusal(scope, now + policy.duration)
            await _set(db, keys[scope], failures=0, locked_until=started.until)
    cap = policy.account_delay_cap.total_seconds()
    failures = await _count(db, keys["account"], now, policy.duration)
    delay = growing_delay(failures, policy.account_delay_after, cap)
    if delay is not None:
        await _set(db, keys["account"], locked_until=now + timedelta(seconds=delay))
    return started


async def record_success(db: AsyncSession, email: str, address: str) -> None:
    """A successful sign-in starts the account's counts over (not the address's own count)."""
    keys = lockout_keys(normalize_email(email), address)
    for key in (keys["account_at_address"], keys["account"]):
        await _set(db, key, failures=0, locked_until=None)


async def unlock(db: AsyncSession, email: str) -> None:
    """Lift every lock on `email` (an administrator's decision) and forget its failures."""
    await db.execute(
        update(AccountLockout)
        .where(AccountLockout.email == normalize_email(email))
        .values(failures=0, locked_until=None)
    )
