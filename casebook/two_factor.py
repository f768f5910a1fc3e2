"""Two-factor sign-in: TOTP enrollment, verification with replay protection, recovery codes,
and the pending sign-in that waits for the code after a right password.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import totp
from casebook.clock import utcnow
from casebook.errors import CasebookError
from casebook.models import PendingSignIn, RecoveryCode, Role, TwoFactor, User

# Roles that may not sign in with a password alone (they see every center's cases or accounts).
REQUIRED_FOR: frozenset[Role] = frozenset({Role.ADMIN, Role.COORDINATOR})
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
PENDING_LIFETIME = timedelta(minutes=5)
PENDING_MAX_ATTEMPTS = 5


def is_required(user: User) -> bool:
    """True when the user's role must sign in with a second factor."""
    return user.role in {r.value for r in REQUIRED_FOR}


def _hash(code: str) -> str:
    return hashlib.sha256(normalize_recovery_code(code).encode()).hexdigest()


def normalize_recovery_code(code: str) -> str:
    """How a typed recovery code is compared: no spaces or dashes, lower case."""
    return code.strip().replace("-", "").replace(" ", "").lower()


def new_recovery_code() -> str:
    """16 characters of a 31-letter alphabet (≈ 79 bits), shown as xxxx-xxxx-xxxx-xxxx."""
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


async def enrollment(db: AsyncSession, user_id: str) -> TwoFactor | None:
    """The user's TOTP row (confirmed or not), or None."""
    return await db.get(TwoFactor, user_id, populate_existing=True)


async def is_enabled(db: AsyncSession, user_id: str) -> bool:
    """True when the user has a confirmed second factor."""
    row = await enrollment(db, user_id)
    return row is not None and row.confirmed_at is not None


async def begin_enrollment(db: AsyncSession, user: User) -> TwoFactor:
    """A fresh unconfirmed secret for `user` (replacing an unfinished one); refused when enabled."""
    row = await enrollment(db, user.id)
    if row is not None and row.confirmed_at is not None:
        raise CasebookError("two_factor_enabled", "two-factor sign-in is already enabled")
    if row is None:
        row = TwoFactor(user_id=user.id, secret=totp.new_secret(), last_step=0)
        db.add(row)
    else:
        row.secret = totp.new_secret()
    await db.flush()
    return row


async def confirm_enrollment(
    db: AsyncSession, user: User, code: str, *, now: datetime | None = None
) -> list[str]:
    """Turn the second factor on with a first right code; returns the new recovery codes."""
    now = now or utcnow()
    row = await enrollment(db, user.id)
    if row is None or row.confirmed_at is not None:
        raise CasebookError("no_enrollment", "start the enrollment first")
    step = totp.matching_step(row.secret, code, now.timestamp(), after=row.last_step)
    if step is None:
        raise CasebookError("invalid_code", "the code is not right")
    row.last_step = step
    row.confirmed_at = now
    return await new_recovery_codes(db, user, now=now)


async def enroll_with_secret(
    db: AsyncSession, user: User, secret: str, *, now: datetime | None = None
) -> None:
    """Turn the second factor on with a known secret (the demo's documented accounts)."""
    row = await enrollment(db, user.id)
    if row is None:
        db.add(TwoFactor(user_id=user.id, secret=secret, confirmed_at=now or utcnow(), last_step=0))


async def new_recovery_codes(
    db: AsyncSession, user: User, *, now: datetime | None = None
) -> list[str]:
    """Replace the user's recovery codes with new ones; returns them (only hashes are kept)."""
    await db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
    db.add_all(
        RecoveryCode(user_id=user.id, code_hash=_hash(c), created_at=now or utcnow())
        for c in codes
    )
    return codes


async def recovery_codes_left(db: AsyncSession, user_id: str) -> int:
    """How many unused recovery codes the user has."""
    rows = await db.scalars(
        select(RecoveryCode.id).where(
            RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
        )
    )
    return len(rows.all())


async def disable(db: AsyncSession, user: User) -> None:
    """Turn the second factor off (refused for roles that require it)."""
    if is_required(user):
        raise CasebookError("two_factor_required", "your role requires two-factor sign-in")
    await db.execute(delete(TwoFactor).where(TwoFactor.user_id == user.id))
    await db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


async def verify(
    db: AsyncSession, user_id: str, code: str, *, now: datetime | None = None
) -> str | None:
    """Check a second factor: "totp" or "recovery" when `code` is right (and now used), else None.

    A TOTP code is accepted once (its step is remembered); a recovery code is spent.
    """
    now = now or utcnow()
    row = await enrollment(db, user_id)
    if row is None or row.confirmed_at is None:
        return None
    step = totp.matching_step(row.secret, code, now.timestamp(), after=row.last_step)
    if step is not None:
        row.last_step = step
        return "totp"
    if len(normalize_recovery_code(code)) != 16:
        return None
    found = await db.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == _hash(code),
            RecoveryCode.used_at.is_(None),
        )
    )
    if found is None:
        return None
    found.used_at = now
    return "recovery"


# ---------------------------------------------------------------- pending sign-ins


@dataclass(frozen=True)
class Pending:
    """A pending sign-in found by its cookie token."""

    row: PendingSignIn
    user: User


def _pending_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start_pending(
    db: AsyncSession, user: User, next_url: str, *, now: datetime | None = None
) -> str:
    """Remember that `user` gave the right password; returns the cookie token for step two."""
    now = now or utcnow()
    # Abandoned steps (the code never typed) are cleared here rather than by a timer.
    await db.execute(delete(PendingSignIn).where(PendingSignIn.created_at < now - PENDING_LIFETIME))
    token = secrets.token_urlsafe(32)
    db.add(
        PendingSignIn(
            id=_pending_id(token), user_id=user.id, created_at=now,
            attempts=0, next_url=next_url[:2000],
        )
    )
    return token


async def find_pending(
    db: AsyncSession, token: str, *, now: datetime | None = None
) -> Pending | None:
    """The live pending sign-in of `token`, or None (unknown, expired, used up, inactive user)."""
    now = now or utcnow()
    row = await db.get(PendingSignIn, _pending_id(token))
    if row is None:
        return None
    user = await db.get(User, row.user_id)
    if (
        user is None
        or not user.active
        or now - row.created_at > PENDING_LIFETIME
        or row.attempts >= PENDING_MAX_ATTEMPTS
    ):
        await db.delete(row)
        return None
    return Pending(row, user)


async def end_pending(db: AsyncSession, pending: Pending) -> None:
    """The pending sign-in is done (completed or abandoned)."""
    await db.delete(pending.row)
