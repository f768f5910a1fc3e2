"""A cancelled review session keeps its row, marked by a `SessionCancellation`.

Deleting the session at cancellation lost what its CANCEL invitation needs (title, time, chair,
invitees, calendar UID and sequence) before the outbox could send it. Now the session stays, its
call room is closed (no invitations left) and it is hidden from every listing and lookup
(`casebook.review_sessions`), so the record of what was planned and cancelled is kept too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from casebook.clock import utcnow
from casebook.models.base import Base, UTCDateTime


class SessionCancellation(Base):
    """The session was cancelled: when and by whom."""

    __tablename__ = "session_cancellations"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("review_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    cancelled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_by_user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
