"""Call rooms and who is invited to each."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casebook.clock import utcnow
from casebook.models.base import Base, UTCDateTime, one_of


class RoomKind(enum.StrEnum):
    """The kind of meeting a call room hosts."""

    CONSULTATION = "consultation"
    BOARD = "board"
    LECTURE = "lecture"


class Room(Base):
    """A call room; its id is the slug in its URL."""

    __tablename__ = "rooms"
    __table_args__ = (one_of("kind", RoomKind, "kind"),)

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
