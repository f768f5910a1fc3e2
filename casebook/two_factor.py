"""Two-factor sign-in: TOTP enrollment, verification with replay protection, recovery codes,
and the pending sign-in that waits for the code after a right password.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import totp
from casebook.clock import utcnow
from casebook.errors import CasebookError
from casebook.models import PendingSignIn, RecoveryCode, Role, TwoFactor, User
from casebook.secret_box import SecretBox

# Roles that may not sign in with a password alone (they see every center's cases or accounts).
REQUIRED_FOR: frozenset[Role] = frozenset({Role.ADMIN, Role.COORDINATOR})
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
PENDING_LIFETIME = timedelta(minutes=5)
PENDING_MAX_ATTEMPTS = 5
# Wrong codes (per user, however many sign-ins and processes) before the code step is refused.
MAX_FAILURES = 5
FIRST_REFUSAL = timedelta(minutes=15)
LONGEST_REFUSAL = timedelta(hours=24)


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


async def begin_enrollment(db: AsyncSession, user: User, box: SecretBox) -> str:
    """A fresh unconfirmed secret for `user` (replacing an unfinished one), stored sealed in
    `box` and returned in clear to show once; refused when enabled."""
    row = await enrollment(db, user.id)
    if row is not None and row.confirmed_at is not None:
        raise CasebookError("two_factor_enabled", "two-factor sign-in is already enabled")
    secret = totp.new_secret()
    if row is None:
        db.add(TwoFactor(user_id=user.id, secret=box.seal(secret), last_step=0))
    else:
        row.secret = box.seal(secret)
    await db.flush()
    return secret


async def confirm_enrollment(
    db: AsyncSession, user: User, code: str, box: SecretBox, *, now: datetime | None = None
) -> list[str]:
    """Turn the second factor on with a first right code; returns the new recovery codes."""
    now = now or utcnow()
    row = await enrollment(db, user.id)
    if row is None or row.confirmed_at is not None:
        raise CasebookError("no_enrollment", "start the enrollment first")
    step = totp.matching_step(box.open(row.secret), code, now.timestamp(), after=row.last_step)
    if step is None:
        raise CasebookError("invalid_code", "the code is not right")
    row.last_step = step
    row.confirmed_at = now
    return await new_recovery_codes(db, user, now=now)


async def enroll_with_secret(
    db: AsyncSession, user: User, secret: str, box: SecretBox, *, now: datetime | None = None
) -> None:
    """Turn the second factor on with a known secret (the demo's documented accounts)."""
    row = await enrollment(db, user.id)
    if row is None:
        db.add(
            TwoFactor(
                user_id=user.id, secret=box.seal(secret), confirmed_at=now or utcnow(),
                last_step=0,
            )
        )


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


def refusal_delay(refusals_before: int) -> timedelta:
    """How long the code step is refused after `refusals_before` refusals in a row: 15 minutes,
    doubling each time, never more than a day."""
    if refusals_before >= 7:  # 15 min · 2^7 is already past a day
        return LONGEST_REFUSAL
    return min(FIRST_REFUSAL * 2**refusals_before, LONGEST_REFUSAL)


Outcome = Literal["totp", "recovery", "wrong", "reused", "refused"]


@dataclass(frozen=True)
class CodeCheck:
    """What became of a typed code: accepted ("totp", "recovery") or not, and why."""

    outcome: Outcome
    # For "refused": when the code step opens again; for "wrong" and "reused": set when this
    # attempt started a refusal.
    refused_until: datetime | None = None

    @property
    def accepted(self) -> bool:
        """True when the code let the user in."""
        return self.outcome in ("totp", "recovery")


async def check_code(
    db: AsyncSession, user_id: str, code: str, box: SecretBox, *, now: datetime | None = None
) -> CodeCheck:
    """Check a second factor, counting the attempt against the user in the database.

    Every code that does not let the user in counts, whichever pending sign-in or process it
    came through; the `MAX_FAILURES`-th starts a refusal of `refusal_delay`, during which no
    code is checked. A TOTP step and a recovery code are accepted once: of two simultaneous
    uses exactly one wins, and the other hears that the code was already used.
    """
    now = now or utcnow()
    # The attempt is counted first: that UPDATE holds the row until the commit, so one user's
    # codes are checked one at a time across processes, and a burst of guesses cannot all get
    # past the refusal before it starts.
    counted = (
        await db.execute(
            update(TwoFactor)
            .where(
                TwoFactor.user_id == user_id,
                TwoFactor.confirmed_at.is_not(None),
                or_(TwoFactor.refused_until.is_(None), TwoFactor.refused_until <= now),
            )
            .values(failures=TwoFactor.failures + 1)
            .returning(
                TwoFactor.secret, TwoFactor.last_step, TwoFactor.failures, TwoFactor.refusals
            )
            .execution_options(synchronize_session=False)
        )
    ).one_or_none()
    if counted is None:
        row = await enrollment(db, user_id)
        if row is not None and row.refused_until is not None and row.refused_until > now:
            return CodeCheck("refused", row.refused_until)
        return CodeCheck("wrong")
    secret, last_step, failures, refusals = counted
    outcome: Outcome = "wrong"
    step = totp.matching_step(box.open(secret), code, now.timestamp())
    if step is not None:
        outcome = "totp" if step > last_step else "reused"
    elif len(normalize_recovery_code(code)) == 16:
        found = await db.scalar(
            select(RecoveryCode).where(
                RecoveryCode.user_id == user_id, RecoveryCode.code_hash == _hash(code)
            )
        )
        if found is not None:
            outcome = "recovery" if found.used_at is None else "reused"
            if found.used_at is None:
                found.used_at = now
    if outcome in ("totp", "recovery"):
        await _reset_failures(db, user_id, **({"last_step": step} if step is not None else {}))
        return CodeCheck(outcome)
    if failures < MAX_FAILURES:
        return CodeCheck(outcome)
    until = now + refusal_delay(refusals)
    await db.execute(
        update(TwoFactor)
        .where(TwoFactor.user_id == user_id)
        .values(failures=0, refusals=refusals + 1, refused_until=until)
        .execution_options(synchronize_session=False)
    )
    return CodeCheck(outcome, until)


async def lift_refusal(db: AsyncSession, user_id: str) -> None:
    """End a refusal of the code step and forget the wrong codes (an administrator's decision)."""
    await _reset_failures(db, user_id)


async def _reset_failures(db: AsyncSession, user_id: str, **values: object) -> None:
    await db.execute(
        update(TwoFactor)
        .where(TwoFactor.user_id == user_id)
        .values(failures=0, refusals=0, refused_until=None, **values)
        .execution_options(synchronize_session=False)
    )


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
    # Abandoned steps (the code never typed) are cleared here rather than by a timer; the user's
    # own open step ends too, so one password cannot open several rounds of code tries.
    await db.execute(
        delete(PendingSignIn).where(
            (PendingSignIn.created_at < now - PENDING_LIFETIME)
            | (PendingSignIn.user_id == user.id)
        )
    )
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
