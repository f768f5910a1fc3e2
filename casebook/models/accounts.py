"""Centers of the network, the people who sign in, and their server-side sign-in sessions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from casebook.clock import utcnow
from casebook.models.base import Base, UTCDateTime, new_id, one_of


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


class Center(Base):
    """A hospital or institution of the network."""

    __tablename__ = "centers"
    __table_args__ = (one_of("kind", CenterKind, "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    state: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    # CLUES: the Health Ministry's unique key of each health establishment.
    clues: Mapped[str | None] = mapped_column(String(20), unique=True)


class User(Base):
    """A person who signs in."""

    __tablename__ = "users"
    __table_args__ = (one_of("role", Role, "role"),)

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
