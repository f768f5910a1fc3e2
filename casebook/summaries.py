"""Plain, read-only pictures of a case, its review session and its recommendation.

The FHIR export, the nota de interconsulta PDF and the e-mail notices take these instead of ORM
rows, so they stay pure and testable without a database: the service layer maps its rows into
them (`Case` → `CaseSummary`, `ReviewSession` → `SessionSummary`, `Recommendation` and its
signatories → `RecommendationSummary`). Times are timezone-aware UTC; the patient is a pseudonym.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from casebook.models import CaseStatus, RoomKind, Sex
from casebook.triage import Urgency, require_utc

# Initials only: letters (Ñ and accented ones included), at most six. Anything longer is more
# likely a name typed into the wrong field than initials, and must not leave the casebook.
_INITIALS = re.compile(r"[^\W\d_]{1,6}")


def normalize_initials(text: str) -> str:
    """`"j. p. l."` → `"JPL"`; raises ValueError unless what remains is 1–6 letters."""
    initials = re.sub(r"[\s.]", "", text).upper()
    if not _INITIALS.fullmatch(initials):
        raise ValueError("patient initials must be 1 to 6 letters (a pseudonym, never a name)")
    return initials


@dataclass(frozen=True)
class Clinician:
    """A clinician as documents show them: name, specialty, center; e-mail for invitations."""

    name: str
    center: str
    specialty: str | None = None
    email: str | None = None
    user_id: str | None = None


@dataclass(frozen=True)
class Center:
    """A hospital of the network; `clues` is the Health Ministry's establishment key."""

    name: str
    clues: str | None = None


@dataclass(frozen=True)
class PatientPseudonym:
    """The patient as the network knows them: initials, age at referral, sex. Never a name."""

    initials: str
    age_years: int
    age_months: int  # months beyond `age_years`, 0–11
    sex: Sex

    def __post_init__(self) -> None:
        object.__setattr__(self, "initials", normalize_initials(self.initials))
        if self.age_years < 0 or not 0 <= self.age_months <= 11:
            raise ValueError("age is whole years (≥ 0) plus 0–11 months")

    @property
    def age_in_months(self) -> int:
        """The whole age in months (infant risk groups are defined in months)."""
        return self.age_years * 12 + self.age_months


@dataclass(frozen=True)
class CaseSummary:
    """A referral for a second opinion, as documents and messages need it."""

    code: str  # public case code, JC-2026-000123
    status: CaseStatus
    urgency: Urgency
    patient: PatientPseudonym
    diagnosis: str
    icd10_code: str
    stage: str | None  # stage and/or risk group, as the referrer wrote it
    clinical_question: str
    referring_center: Center
    referrer: Clinician
    created_at: datetime
    submitted_at: datetime | None = None
    specialty: str | None = None  # set at triage

    def __post_init__(self) -> None:
        require_utc(self.created_at, "created_at")
        if self.submitted_at is not None:
            require_utc(self.submitted_at, "submitted_at")


@dataclass(frozen=True)
class SessionSummary:
    """A review session (junta médica): when, where (its call room URL), who chairs it."""

    session_id: int
    kind: RoomKind
    title: str
    starts_at: datetime
    duration_minutes: int
    room_url: str
    chair: Clinician
    sequence: int = 0  # bumped on every change of time or place (see `casebook.ics`)
    cancelled: bool = False

    def __post_init__(self) -> None:
        require_utc(self.starts_at, "starts_at")
        if self.duration_minutes <= 0:
            raise ValueError("a session lasts a positive number of minutes")

    @property
    def ends_at(self) -> datetime:
        """When the session is planned to end."""
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    @property
    def calendar_uid(self) -> str:
        """The session's stable iCalendar UID: every update and cancellation reuses it."""
        return f"session-{self.session_id}@junta"


@dataclass(frozen=True)
class RecommendationSummary:
    """The nota de interconsulta's content and who signs it (the chair first)."""

    issued_at: datetime
    diagnostic_criteria: str
    suggested_studies: str
    treatment_suggestions: str
    chair: Clinician
    signatories: tuple[Clinician, ...] = ()  # specialists who agree with and sign it

    def __post_init__(self) -> None:
        require_utc(self.issued_at, "issued_at")

    @property
    def signers(self) -> tuple[Clinician, ...]:
        """The chair, then every other signatory once."""
        rest = tuple(p for p in self.signatories if p != self.chair)
        return (self.chair, *rest)


def list_items(text: str) -> list[str]:
    """The items of a free-text list, one per line, without bullets or numbering."""
    items = []
    for line in text.splitlines():
        item = re.sub(r"^\s*(?:[-*•·]|\d{1,2}[.)])\s*", "", line).strip()
        if item:
            items.append(item)
    return items
