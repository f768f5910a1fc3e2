"""The recording tables: recordings of call rooms, their tracks and the consents given for them.

A recording is not a clinical record: its row stays for the audit trail when the files go at the
end of the retention period (status `deleted`). `room_id` is not a foreign key on purpose: a room
(and its review session) may be cancelled while the recording of an earlier meeting is kept.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from casebook.clock import utcnow
from casebook.models.base import Base, UTCDateTime, one_of


class RecordingStatus(enum.StrEnum):
    """Where a recording is in its life."""

    RECORDING = "recording"
    COMPLETE = "complete"
    INTERRUPTED = "interrupted"
    DELETED = "deleted"


class RecordingKind(enum.StrEnum):
    """What was recorded: decides who may watch it before it is published."""

    LECTURE = "lecture"
    CASE_DISCUSSION = "case_discussion"


class TrackKind(enum.StrEnum):
    """A recorded track's media kind."""

    AUDIO = "audio"
    VIDEO = "video"


class Recording(Base):
    """One recording of a call room, from start to stop (or crash)."""

    __tablename__ = "recordings"
    __table_args__ = (
        one_of("status", RecordingStatus, "status"),
        one_of("kind", RecordingKind, "kind"),
    )

    # The recorder's id: also the name of its directory under the recordings root.
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(64), index=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("review_sessions.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=RecordingStatus.RECORDING.value)
    started_by_user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    # Which process records it (host and pid): a restart marks only its own dead recordings
    # interrupted, never a recording another live process on the same database is making.
    recorder_host: Mapped[str | None] = mapped_column(String(255))
    recorder_pid: Mapped[int | None] = mapped_column(Integer)
    # Publishing to the training library: who confirmed, when, and the exact statement confirmed.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    publish_statement: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecordingTrack(Base):
    """One recorded track (a participant's camera, microphone or screen), one file."""

    __tablename__ = "recording_tracks"
    __table_args__ = (one_of("kind", TrackKind, "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[str] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), index=True
    )
    track_id: Mapped[str] = mapped_column(String(128))
    publisher_peer_id: Mapped[str] = mapped_column(String(64))
    publisher_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8))
    codec: Mapped[str] = mapped_column(String(32))
    stream_id: Mapped[str] = mapped_column(String(128))
    # Relative to the recording's directory.
    file: Mapped[str] = mapped_column(String(255))
    start_offset: Mapped[float] = mapped_column(Float)
    duration: Mapped[float] = mapped_column(Float)
    frames: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))


class RecordingConsent(Base):
    """A participant's answer to the recording notice: who, when, and what they were told."""

    __tablename__ = "recording_consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[str] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), index=True
    )
    peer_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(200))
    granted: Mapped[bool] = mapped_column(Boolean)
    notice_text: Mapped[str] = mapped_column(Text)
    notice_version: Mapped[str] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
