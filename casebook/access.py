"""Who may see a case, add an opinion to it or issue its recommendation; pure, over plain facts.

Case files hold children's health data, so access is need-to-know (data minimization):

- Its referrer always sees their own case (while they hold a clinical role).
- Referrers, specialists and coordinators of the *referring center* see the center's cases,
  drafts included: they are the treating team covering for each other.
- Coordinators see every case of the network once it has been submitted, to triage and schedule
  it. A draft that was never submitted stays inside its center.
- Invitees (and the chair) of a review session that has the case on its agenda see it while it is
  scheduled or afterwards (discussed, recommendation issued, closed): they discuss it and may
  follow up. A trainee sees a case only this way: an invitation is a deliberate choice.
  Rejected or withdrawn cases, and stale agenda rows, give invitees nothing.
- Admins administer accounts and never read clinical content, not even when invited or at the
  referring center; someone who needs both gets a second, clinical account.
- Everyone else is refused; the web layer answers 404 so a case's existence does not leak.

`actor_for` turns the same facts into the workflow's `Actor`, so the relations the state machine
trusts (`is_case_referrer`, `is_session_chair`, ...) are established in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from casebook.models import CaseStatus, Role
from casebook.workflow import CLINICAL_ROLES, Actor, CaseAction, allowed_actions

# The treating team at the referring center (lecturers and trainees there are not, by role).
REFERRING_CENTER_ROLES: frozenset[Role] = frozenset(
    {Role.REFERRER, Role.SPECIALIST, Role.COORDINATOR}
)
# Who may write a consultant's opinion: not the referrer (their input is the case itself), not
# trainees (they watch and learn), not admins.
OPINION_ROLES: frozenset[Role] = frozenset({Role.COORDINATOR, Role.SPECIALIST, Role.LECTURER})
# Statuses in which being on a session's agenda means something.
ON_AGENDA_STATUSES: frozenset[CaseStatus] = frozenset(
    {
        CaseStatus.SCHEDULED,
        CaseStatus.DISCUSSED,
        CaseStatus.RECOMMENDATION_ISSUED,
        CaseStatus.CLOSED,
    }
)
# Statuses a case only reaches by being discussed in a session.
DISCUSSED_STATUSES: frozenset[CaseStatus] = frozenset(
    {CaseStatus.DISCUSSED, CaseStatus.RECOMMENDATION_ISSUED, CaseStatus.CLOSED}
)
# While the case is under review, before its nota is written.
OPINION_STATUSES: frozenset[CaseStatus] = frozenset(
    {CaseStatus.ACCEPTED, CaseStatus.SCHEDULED, CaseStatus.DISCUSSED}
)


@dataclass(frozen=True)
class Person:
    """Someone signed in: who they are, what they do, where they work."""

    user_id: str
    role: Role
    center_id: int


@dataclass(frozen=True)
class AgendaSession:
    """A review session that has the case on its agenda, reduced to who takes part."""

    session_id: str
    chair_user_id: str
    invitee_user_ids: frozenset[str] = frozenset()

    def includes(self, user_id: str) -> bool:
        """Whether `user_id` takes part (the chair always does)."""
        return user_id == self.chair_user_id or user_id in self.invitee_user_ids


@dataclass(frozen=True)
class CaseFacts:
    """What access rules need to know about a case, loaded by the storage layer."""

    referring_center_id: int
    referrer_user_id: str
    status: CaseStatus
    # Has it ever left draft? (storage: submitted_at IS NOT NULL). Tells a withdrawn draft, which
    # the network never saw, from a withdrawn referral.
    ever_submitted: bool
    sessions: tuple[AgendaSession, ...] = ()  # sessions whose agenda has the case now
    discussed_in: str | None = None  # id of the session that discussed it

    def __post_init__(self) -> None:
        # Contradictory facts mean a storage bug; refusing them beats guessing who may see what.
        if self.status is CaseStatus.DRAFT and self.ever_submitted:
            raise ValueError("a case in draft cannot have been submitted")
        if self.status not in {CaseStatus.DRAFT, CaseStatus.WITHDRAWN} and not self.ever_submitted:
            raise ValueError(f"a {self.status.value} case must have been submitted")
        if (self.discussed_in is not None) != (self.status in DISCUSSED_STATUSES):
            raise ValueError("a case names the session that discussed it exactly when discussed")
        if self.status is CaseStatus.SCHEDULED and not self.sessions:
            raise ValueError("a scheduled case is on some session's agenda")
        if self.discussed_in is not None and all(
            s.session_id != self.discussed_in for s in self.sessions
        ):
            raise ValueError("the session that discussed the case must be among its sessions")


def _is_referrer(person: Person, case: CaseFacts) -> bool:
    return person.role in CLINICAL_ROLES and person.user_id == case.referrer_user_id


def _agenda_sessions(case: CaseFacts) -> tuple[AgendaSession, ...]:
    # Agenda rows only count while the case is (or was) actually discussed through them.
    return case.sessions if case.status in ON_AGENDA_STATUSES else ()


def _is_invited(person: Person, case: CaseFacts) -> bool:
    return any(s.includes(person.user_id) for s in _agenda_sessions(case))


def _is_chair(person: Person, case: CaseFacts) -> bool:
    # Once discussed, the chair who matters is the one of the session that discussed it.
    sessions = _agenda_sessions(case)
    if case.discussed_in is not None:
        sessions = tuple(s for s in sessions if s.session_id == case.discussed_in)
    return any(s.chair_user_id == person.user_id for s in sessions)


def can_view_case(person: Person, case: CaseFacts) -> bool:
    """Whether `person` may see the case at all (if not, the web layer answers 404)."""
    if person.role is Role.ADMIN:
        return False
    if _is_referrer(person, case):
        return True
    if (
        person.center_id == case.referring_center_id
        and person.role in REFERRING_CENTER_ROLES
    ):
        return True
    if person.role is Role.COORDINATOR and case.ever_submitted:
        return True
    return _is_invited(person, case)


# The statuses a case may hold without ever having been submitted (storage enforces the rest
# have a submission time: the cases table's check constraint `submitted_by_status`).
NEVER_SUBMITTED_STATUSES = frozenset({CaseStatus.DRAFT, CaseStatus.WITHDRAWN})


def sees_every_case_in(role: Role, status: CaseStatus) -> bool:
    """Whether a person of `role` may see every case in `status`, whoever referred it: a
    coordinator sees every case ever submitted (`can_view_case`), and past draft that is all."""
    return role is Role.COORDINATOR and status not in NEVER_SUBMITTED_STATUSES


def can_add_opinion(person: Person, case: CaseFacts) -> bool:
    """Whether `person` may add a consultant's opinion: coordinators, or invited consultants."""
    if case.status not in OPINION_STATUSES or person.role not in OPINION_ROLES:
        return False
    return person.role is Role.COORDINATOR or _is_invited(person, case)


def can_issue_recommendation(person: Person, case: CaseFacts) -> bool:
    """Whether `person` may write the nota de interconsulta: the chair of the discussing session."""
    return CaseAction.ISSUE_RECOMMENDATION in allowed_actions(case.status, actor_for(person, case))


def actor_for(person: Person, case: CaseFacts) -> Actor:
    """The workflow's view of `person` acting on `case`: role plus relations, from the facts."""
    return Actor(
        role=person.role,
        is_case_referrer=person.user_id == case.referrer_user_id,
        is_session_chair=_is_chair(person, case),
        is_session_invitee=_is_invited(person, case),
    )
