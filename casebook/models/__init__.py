"""The casebook's tables, one module per area, all sharing `casebook.models.base.Base`.

Import model names from this package (`from casebook.models import User`). Importing it loads
every table module, in the fixed order below, so `Base.metadata` is complete for anyone (Alembic,
tests) that imports it. Table modules import `casebook.models.base` and each other, never this
package, and nothing they import may import this package back (`tests/test_imports.py`).
"""

from __future__ import annotations

from casebook.models.accounts import Center, CenterKind, Role, User, UserSession, normalize_email
from casebook.models.audit import AuditEvent
from casebook.models.base import Base
from casebook.models.cancellations import SessionCancellation
from casebook.models.case_indexes import WAITING_PREDICATE
from casebook.models.cases import (
    AgendaItem,
    Attachment,
    AttachmentKind,
    Attendance,
    Case,
    CaseCounter,
    CaseStatus,
    InformationRequest,
    Notification,
    Opinion,
    Recommendation,
    RecommendationSignatory,
    ReviewSession,
    SessionInvitee,
    Sex,
)
from casebook.models.recordings import (
    Recording,
    RecordingConsent,
    RecordingKind,
    RecordingStatus,
    RecordingTrack,
    TrackKind,
)
from casebook.models.rooms import Room, RoomInvite, RoomKind
from casebook.models.security import (
    DEFAULT_RETENTION,
    RETENTION_INFO_KEY,
    AccountLockout,
    PendingSignIn,
    RecoveryCode,
    RetentionError,
    TwoFactor,
)

__all__ = [
    "DEFAULT_RETENTION",
    "RETENTION_INFO_KEY",
    "WAITING_PREDICATE",
    "AccountLockout",
    "AgendaItem",
    "Attachment",
    "AttachmentKind",
    "Attendance",
    "AuditEvent",
    "Base",
    "Case",
    "CaseCounter",
    "CaseStatus",
    "Center",
    "CenterKind",
    "InformationRequest",
    "Notification",
    "Opinion",
    "PendingSignIn",
    "Recommendation",
    "RecommendationSignatory",
    "Recording",
    "RecordingConsent",
    "RecordingKind",
    "RecordingStatus",
    "RecordingTrack",
    "RecoveryCode",
    "RetentionError",
    "ReviewSession",
    "Role",
    "Room",
    "RoomInvite",
    "RoomKind",
    "SessionCancellation",
    "SessionInvitee",
    "Sex",
    "TrackKind",
    "TwoFactor",
    "User",
    "UserSession",
    "normalize_email",
]
