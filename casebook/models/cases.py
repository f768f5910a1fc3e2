"""The clinical tables: cases and their attachments, review sessions with their agenda, invitees
and attendance, consultants' opinions, and the signed recommendation (nota de interconsulta).

Patients appear only as a pseudonym (initials, age, sex): never a name or a CURP. Enumerations
are CHECK-constrained strings (`casebook.models.base.one_of`); `Case.urgency_rank` mirrors
`triage.URGENCY_RANK` so the queue's order (`triage.QUEUE_ORDER_BY`) can use an index.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from casebook.clock import utcnow
from casebook.models.accounts import User
from casebook.models.base import Base, UTCDateTime, one_of
from casebook.models.rooms import RoomKind
from casebook.triage import URGENCY_RANK, Urgency


class CaseStatus(enum.StrEnum):
    """Where a case is in its life."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    INFORMATION_REQUESTED = "information_requested"
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    DISCUSSED = "discussed"
    RECOMMENDATION_ISSUED = "recommendation_issued"
    CLOSED = "closed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class Sex(enum.StrEnum):
    """The patient's sex as recorded by the referring center."""

    FEMALE = "female"
    MALE = "male"
    UNDETERMINED = "undetermined"


class AttachmentKind(enum.StrEnum):
    """File types a case may carry, recognized by content (magic bytes), never by name."""

    PDF = "pdf"
    JPEG = "jpeg"
    PNG = "png"
    DICOM = "dicom"


class CaseCounter(Base):
    """The last case number issued in a year; incremented in the creating transaction."""

    __tablename__ = "case_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Case(Base):
    """A referral for a second opinion, from draft to closed."""

    __tablename__ = "cases"
    __table_args__ = (
        one_of("status", CaseStatus, "status"),
        one_of("urgency", Urgency, "urgency"),
        one_of("patient_sex", Sex, "patient_sex"),
        CheckConstraint("urgency_rank IN (0, 1, 2)", name="urgency_rank"),
        # Only a draft lacks a submission time, and a draft withdrawn before it was ever sent.
        CheckConstraint(
            "(status = 'draft' AND submitted_at IS NULL) OR "
            "(status <> 'draft' AND (submitted_at IS NOT NULL OR status = 'withdrawn'))",
            name="submitted_by_status",
        ),
        # The coordinators' queue: WHERE status IN (...) ORDER BY urgency rank, submitted_at, id.
        Index("ix_cases_queue", "status", "urgency_rank", "submitted_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[str] = mapped_column(String(32), default=CaseStatus.DRAFT.value)
    referring_center_id: Mapped[int] = mapped_column(ForeignKey("centers.id"), index=True)
    referrer_user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    patient_initials: Mapped[str] = mapped_column(String(8))
    patient_age_years: Mapped[int] = mapped_column(Integer)
    patient_age_months: Mapped[int] = mapped_column(Integer, default=0)
    patient_sex: Mapped[str] = mapped_column(String(16))
    diagnosis: Mapped[str] = mapped_column(String(300))
    icd10_code: Mapped[str] = mapped_column(String(8))
    stage: Mapped[str | None] = mapped_column(String(120))
    treatment_so_far: Mapped[str] = mapped_column(Text, default="")
    clinical_question: Mapped[str] = mapped_column(Text, default="")
    # Requested by the referrer until triage sets it.
    urgency: Mapped[str] = mapped_column(String(16), default=Urgency.ROUTINE.value)
    urgency_rank: Mapped[int] = mapped_column(Integer, default=URGENCY_RANK[Urgency.ROUTINE])
    specialty: Mapped[str | None] = mapped_column(String(80))
    triage_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # First submission; the queue's clock (see `casebook.triage`).
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    discussed_in_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("review_sessions.id"), index=True
    )

    referrer: Mapped[User] = relationship(lazy="joined", foreign_keys=[referrer_user_id])

    @validates("urgency")
    def _keep_rank(self, _key: str, value: str) -> str:
        self.urgency_rank = URGENCY_RANK[Urgency(value)]
        return value


class InformationRequest(Base):
    """A coordinator's question to the referrer during triage, and its answer."""

    __tablename__ = "information_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    requested_by_user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    question: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_by_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Attachment(Base):
    """A file of a case, stored content-addressed under the storage root by its SHA-256."""

    __tablename__ = "attachments"
    __table_args__ = (one_of("kind", AttachmentKind, "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_by_user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewSession(Base):
    """A junta médica (interconsultation, tumor board, lecture) with its own call room."""

    __tablename__ = "review_sessions"
    __table_args__ = (
        one_of("kind", RoomKind, "kind"),
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    chair_user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id"), unique=True)
    # What was decided, written by the chair or a coordinator after the meeting.
    decisions: Mapped[str | None] = mapped_column(Text)
    # Bumped when time or place changes, for calendar updates (`casebook.ics`).
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_by_user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    chair: Mapped[User] = relationship(lazy="joined", foreign_keys=[chair_user_id])


class SessionInvitee(Base):
    """A person invited to a review session (the chair is one implicitly)."""

    __tablename__ = "session_invitees"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("review_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)


class AgendaItem(Base):
    """A case on a session's agenda, at `position` (1 is discussed first)."""

    __tablename__ = "agenda_items"
    __table_args__ = (UniqueConstraint("session_id", "case_id", name="uq_agenda_items_case"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("review_sessions.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attendance(Base):
    """One stay of a person in a session's call, from the call's join and leave events."""

    __tablename__ = "attendance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("review_sessions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    peer_id: Mapped[str] = mapped_column(String(64))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Opinion(Base):
    """A consultant's written opinion on a case under review."""

    __tablename__ = "opinions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    author_user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship(lazy="joined")


class Recommendation(Base):
    """The nota de interconsulta: issued once per case by the chair of the discussing session."""

    __tablename__ = "recommendations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("review_sessions.id"))
    chair_user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    diagnostic_criteria: Mapped[str] = mapped_column(Text)
    suggested_studies: Mapped[str] = mapped_column(Text)
    treatment_suggestions: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecommendationSignatory(Base):
    """A specialist who agreed with and signs the recommendation."""

    __tablename__ = "recommendation_signatories"

    recommendation_id: Mapped[int] = mapped_column(
        ForeignKey("recommendations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    user: Mapped[User] = relationship(lazy="joined")


class Notification(Base):
    """Someone must hear of something (a transition, a session): the outbox a mailer drains.

    Written in the same transaction as what it announces, so nothing is announced that did not
    happen and nothing that happened goes unannounced; `sent_at` is set once delivered.
    """

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    # e.g. `case.submit`, `session.scheduled`: the audit action that caused it.
    event: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("review_sessions.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Delivery bookkeeping of `casebook.outbox`: a claim (lease) while a dispatcher sends it,
    # temporary failures counted and retried with backoff, permanent ones marked failed.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error_code: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
