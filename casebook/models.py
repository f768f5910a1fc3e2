"""The casebook's tables: centers, people, call rooms, sign-in sessions and the audit trail.

Timestamps are timezone-aware UTC everywhere (`UTCDateTime`), enumerations are short strings with
a CHECK constraint (portable between SQLite and PostgreSQL, readable in a SQL console), and every
constraint is named (`NAMING`) so migrations can refer to them. Later features (cases, review
sessions) add modules next to this one sharing `Base`.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    TypeDecorator,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from casebook.clock import as_utc, utcnow
from casebook.errors import CasebookError

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every casebook model."""

    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp that always comes back as aware UTC (SQLite returns naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        # asyncpg hands timestamptz back as aware UTC already: nothing to do per value (listings
        # read two times on each of their rows).
        if dialect.driver == "asyncpg":
            return None
        return super().result_processor(dialect, coltype)


def _one_of(column: str, values: type[enum.StrEnum], name: str) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


def new_id() -> str:
    """A random identifier for rows people never type (users)."""
    return str(uuid.uuid4())


class CenterKind(enum.StrEnum):
    """What kind of institution a center is."""

    ONCOCREAN = "oncocrean"
    UMAE = "umae"
    GENERAL_HOSPITAL = "general_hospital"
    EXTERNAL = "external"


class Role(enum.StrEnum):
    """What a person does in the network; permissions follow from it."""

    ADMIN = "admin"
    COORDINATOR = "coordinator"
    SPECIALIST = "specialist"
    LECTURER = "lecturer"
    REFERRER = "referrer"
    TRAINEE = "trainee"


class RoomKind(enum.StrEnum):
    """The kind of meeting a call room hosts."""

    CONSULTATION = "consultation"
    BOARD = "board"
    LECTURE = "lecture"


class Center(Base):
    """A hospital or institution of the network."""

    __tablename__ = "centers"
    __table_args__ = (_one_of("kind", CenterKind, "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    state: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    # CLUES: the Health Ministry's unique key of each health establishment.
    clues: Mapped[str | None] = mapped_column(String(20), unique=True)


class User(Base):
    """A person who signs in."""

    __tablename__ = "users"
    __table_args__ = (_one_of("role", Role, "role"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    center_id: Mapped[int] = mapped_column(ForeignKey("centers.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # None: no preference stored; the browser's Accept-Language decides.
    locale: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    center: Mapped[Center] = relationship(lazy="joined")

    @validates("email")
    def _normalize_email(self, _key: str, value: str) -> str:
        return normalize_email(value)


def normalize_email(email: str) -> str:
    """The stored form of an e-mail address: trimmed and lower-cased."""
    return email.strip().lower()


class Room(Base):
    """A call room; its id is the slug in its URL."""

    __tablename__ = "rooms"
    __table_args__ = (_one_of("kind", RoomKind, "kind"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    requires_admission: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoomInvite(Base):
    """A person invited to a room, possibly as one of its moderators."""

    __tablename__ = "room_invites"

    room_id: Mapped[str] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    moderator: Mapped[bool] = mapped_column(Boolean, default=False)

    room: Mapped[Room] = relationship(lazy="joined")


class UserSession(Base):
    """A server-side sign-in session; `id` is the SHA-256 of the cookie's random token."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")


class AuditEvent(Base):
    """One entry of the append-only audit trail. `detail` never holds patient data."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(45))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _audit_is_append_only(_mapper: Any, _connection: Any, target: AuditEvent) -> None:
    raise CasebookError("audit_append_only", "audit events are never changed or deleted")


# The clinical tables share `Base`; importing them here puts them in `Base.metadata` for anyone
# (Alembic, tests) that imports this module.
import casebook.cancellation_models  # noqa: E402
import casebook.case_indexes  # noqa: E402
import casebook.case_models  # noqa: E402
import casebook.recording_models  # noqa: E402
import casebook.security_models  # noqa: E402, F401
