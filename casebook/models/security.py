"""Account-security tables: sign-in lockouts, two-factor secrets, recovery codes, pending sign-ins.

Also the retention guard: clinical records (cases, opinions, recommendations, information
requests, attachments) may not be hard-deleted before the retention period, enforced here in
the model layer like the audit trail's append-only listener, so no code path can forget it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from casebook.clock import utcnow
from casebook.errors import CasebookError
from casebook.models.base import Base, UTCDateTime


class AccountLockout(Base):
    """Failed sign-ins for one key and its lock: (e-mail, address), ("", address) or (e-mail, "").

    The e-mail is as typed (normalized), so an unknown one locks exactly like a real one and the
    lock reveals nothing about which accounts exist. On the (e-mail, "") row `locked_until` is the
    end of the account's short growing delay, never a long lock (casebook.lockout).
    """

    __tablename__ = "account_lockouts"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TwoFactor(Base):
    """A user's TOTP secret (RFC 6238); `confirmed_at` None while enrollment is unfinished."""

    __tablename__ = "two_factor"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # Sealed with `casebook.secret_box` (the server key), never stored in clear.
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last time step accepted: a code is never accepted twice (RFC 6238 §5.2).
    last_step: Mapped[int] = mapped_column(Integer, default=0)
    # Wrong codes since the last right one or the last refusal, across every pending sign-in
    # and process; a right password does not clear them (only a right code does).
    failures: Mapped[int] = mapped_column(Integer, default=0)
    # How many refusals came one after the other (each lasts twice the one before).
    refusals: Mapped[int] = mapped_column(Integer, default=0)
    refused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecoveryCode(Base):
    """A single-use recovery code, stored as its SHA-256 (codes carry 80 random bits)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PendingSignIn(Base):
    """A password that was right, waiting for the second factor; `id` is SHA-256 of the cookie."""

    __tablename__ = "pending_sign_ins"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_url: Mapped[str] = mapped_column(String(2000), default="/dashboard")


# ---------------------------------------------------------------- retention of clinical records

DEFAULT_RETENTION = timedelta(days=5 * 365 + 1)  # five years (NOM-004-SSA3-2012's minimum)
# `Session.info` key under which an application passes a longer retention period.
RETENTION_INFO_KEY = "junta_retention"

# Each clinical table and the column its age is counted from, by table name: the guard below
# sees every object a session deletes, clinical or not.
RETAINED: dict[str, str] = {
    "cases": "created_at",
    "opinions": "created_at",
    "recommendations": "issued_at",
    "information_requests": "requested_at",
    "attachments": "uploaded_at",
}


class RetentionError(CasebookError):
    """A clinical record was to be destroyed before its retention period ended."""

    def __init__(self, message: str) -> None:
        super().__init__("retention_period", message)


def retention_of(session: Session) -> timedelta:
    """The retention period a session enforces (never shorter than the default)."""
    configured = session.info.get(RETENTION_INFO_KEY)
    return max(configured, DEFAULT_RETENTION) if configured else DEFAULT_RETENTION


@event.listens_for(Session, "before_flush")
def _keep_clinical_records(session: Session, _context: Any, _instances: Any) -> None:
    retention = retention_of(session)
    now = utcnow()
    for target in session.deleted:
        column = RETAINED.get(getattr(target, "__tablename__", ""))
        if column is None:
            continue
        created: datetime | None = getattr(target, column)
        if created is None or now - created < retention:
            raise RetentionError(
                f"{type(target).__tablename__} records are kept for {retention.days} days; "
                "withdraw or hide them instead"
            )


@event.listens_for(Session, "do_orm_execute")
def _no_bulk_clinical_deletes(state: Any) -> None:
    # A bulk DELETE skips the per-row check above: clinical rows are deleted one by one.
    mapper = state.bind_mapper if state.is_delete else None
    table = getattr(mapper.class_, "__tablename__", "") if mapper is not None else ""
    if table in RETAINED:
        raise RetentionError(
            f"bulk deletes of {table} are not allowed; "
            "delete records past their retention period one by one"
        )
