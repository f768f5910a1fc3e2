"""The case state machine: which action takes a case from which status to which, and who may act.

    draft ─submit→ submitted ─accept→ accepted ─schedule→ scheduled ─mark_discussed→ discussed
      submitted ─request_information→ information_requested ─answer_information→ submitted
      scheduled ─unschedule→ accepted            (session cancelled, case moved to another one)
      discussed ─issue_recommendation→ recommendation_issued ─close→ closed
      submitted | information_requested ─reject→ rejected
      draft … scheduled ─withdraw→ withdrawn

`TRANSITIONS` is the whole graph as data (docs and tests enumerate it); `transition` applies one
edge, `allowed_actions` lists what the UI may offer. The statuses are `casebook.models.CaseStatus`,
the values the `cases.status` column may hold. Permission comes from the actor's role and
from *relations* the caller has already established (`Actor.is_case_referrer`, ...): this module
never looks anything up. Decisions where the issue left room:

- Only the case's own referrer submits, answers information requests and withdraws a draft; a
  draft is theirs alone (coordinators do not even see drafts, see `casebook.access`).
- Coordinators may also withdraw a case once it is submitted (the referrer phoned, the patient
  was transferred or died) but not a draft, which the network has never seen.
- Coordinators may reject while information is requested: a referrer who never answers must not
  leave the case open for ever.
- Unscheduling and marking discussed: coordinators or the session's chair (who runs the meeting).
- The *nota de interconsulta* is a signed medical document, so only the chair of the session that
  discussed the case issues it; coordinators cannot do it on the chair's behalf.
- Closing (the referrer acknowledges the recommendation, or the coordinator files it): the case's
  referrer or a coordinator.
- Relations only count for clinical roles: an admin or trainee never moves a case, even if data
  says they own it (a role change must not leave clinical powers behind).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from casebook.errors import CasebookError
from casebook.models import CaseStatus, Role


class CaseAction(enum.StrEnum):
    """Something a person does to a case that changes its status."""

    SUBMIT = "submit"
    REQUEST_INFORMATION = "request_information"
    ANSWER_INFORMATION = "answer_information"
    ACCEPT = "accept"  # triage: the service also records urgency and specialty
    REJECT = "reject"
    SCHEDULE = "schedule"  # onto a review session's agenda
    UNSCHEDULE = "unschedule"
    MARK_DISCUSSED = "mark_discussed"
    ISSUE_RECOMMENDATION = "issue_recommendation"
    CLOSE = "close"
    WITHDRAW = "withdraw"

    @property
    def audit_action(self) -> str:
        """The name this action has in the audit trail, e.g. `case.submit`."""
        return f"case.{self.value}"


class Relation(enum.StrEnum):
    """How a person stands to one particular case, established by the caller."""

    CASE_REFERRER = "case_referrer"
    SESSION_CHAIR = "session_chair"
    SESSION_INVITEE = "session_invitee"


class Audience(enum.StrEnum):
    """Who hears about a transition; the service resolves each audience to people."""

    REFERRER = "referrer"
    COORDINATORS = "coordinators"
    SESSION_INVITEES = "session_invitees"
    SESSION_CHAIR = "session_chair"


# People who take part in clinical work; admins administer accounts and trainees learn.
CLINICAL_ROLES: frozenset[Role] = frozenset(
    {Role.COORDINATOR, Role.SPECIALIST, Role.LECTURER, Role.REFERRER}
)
TERMINAL_STATUSES: frozenset[CaseStatus] = frozenset(
    {CaseStatus.CLOSED, CaseStatus.REJECTED, CaseStatus.WITHDRAWN}
)


@dataclass(frozen=True)
class Actor:
    """The person acting: their role, and their relations to the case at hand."""

    role: Role
    is_case_referrer: bool = False  # the referrer who owns (created) this case
    is_session_chair: bool = False  # chairs the review session that has the case on its agenda
    is_session_invitee: bool = False  # invited to that review session

    def has(self, relation: Relation) -> bool:
        """Whether the actor stands in `relation` to the case."""
        return {
            Relation.CASE_REFERRER: self.is_case_referrer,
            Relation.SESSION_CHAIR: self.is_session_chair,
            Relation.SESSION_INVITEE: self.is_session_invitee,
        }[relation]


@dataclass(frozen=True)
class Grant:
    """One way to be allowed a transition: holding one of `roles` and, if set, `relation`."""

    roles: frozenset[Role]
    relation: Relation | None = None

    def admits(self, actor: Actor) -> bool:
        """Whether `actor` qualifies under this grant."""
        if actor.role not in self.roles:
            return False
        return self.relation is None or actor.has(self.relation)

    def describe(self) -> str:
        """Who this grant admits, in words: "a coordinator", "the case's referrer"."""
        if self.relation is not None:
            return _RELATION_WHO[self.relation]
        return " or ".join(f"a {role.value}" for role in sorted(self.roles))


BY_COORDINATOR = Grant(frozenset({Role.COORDINATOR}))
BY_CASE_REFERRER = Grant(CLINICAL_ROLES, Relation.CASE_REFERRER)
BY_SESSION_CHAIR = Grant(CLINICAL_ROLES, Relation.SESSION_CHAIR)


@dataclass(frozen=True)
class Transition:
    """One edge of the graph: `action` takes `source` to `target` for anyone a grant admits."""

    source: CaseStatus
    action: CaseAction
    target: CaseStatus
    grants: tuple[Grant, ...]
    notify: frozenset[Audience]

    def admits(self, actor: Actor) -> bool:
        """Whether `actor` may take this edge."""
        return any(grant.admits(actor) for grant in self.grants)

    def describe_who(self) -> str:
        """Everyone this edge admits, in words (for error messages and docs)."""
        return " or ".join(grant.describe() for grant in self.grants)


def _edge(
    source: CaseStatus,
    action: CaseAction,
    target: CaseStatus,
    grants: Iterable[Grant],
    notify: Iterable[Audience],
) -> Transition:
    return Transition(source, action, target, tuple(grants), frozenset(notify))


S, A, N = CaseStatus, CaseAction, Audience
_SESSION_PEOPLE = (N.SESSION_CHAIR, N.SESSION_INVITEES)

TRANSITIONS: tuple[Transition, ...] = (
    _edge(S.DRAFT, A.SUBMIT, S.SUBMITTED, [BY_CASE_REFERRER], [N.COORDINATORS]),
    _edge(
        S.SUBMITTED, A.REQUEST_INFORMATION, S.INFORMATION_REQUESTED, [BY_COORDINATOR], [N.REFERRER]
    ),
    _edge(
        S.INFORMATION_REQUESTED, A.ANSWER_INFORMATION, S.SUBMITTED, [BY_CASE_REFERRER],
        [N.COORDINATORS],
    ),
    _edge(S.SUBMITTED, A.ACCEPT, S.ACCEPTED, [BY_COORDINATOR], [N.REFERRER]),
    _edge(S.SUBMITTED, A.REJECT, S.REJECTED, [BY_COORDINATOR], [N.REFERRER]),
    _edge(S.INFORMATION_REQUESTED, A.REJECT, S.REJECTED, [BY_COORDINATOR], [N.REFERRER]),
    _edge(S.ACCEPTED, A.SCHEDULE, S.SCHEDULED, [BY_COORDINATOR], [N.REFERRER, *_SESSION_PEOPLE]),
    _edge(
        S.SCHEDULED, A.UNSCHEDULE, S.ACCEPTED, [BY_COORDINATOR, BY_SESSION_CHAIR],
        [N.REFERRER, N.COORDINATORS, *_SESSION_PEOPLE],
    ),
    # The chair hears of it because the nota de interconsulta is now due from them.
    _edge(
        S.SCHEDULED, A.MARK_DISCUSSED, S.DISCUSSED, [BY_COORDINATOR, BY_SESSION_CHAIR],
        [N.REFERRER, N.SESSION_CHAIR],
    ),
    _edge(
        S.DISCUSSED, A.ISSUE_RECOMMENDATION, S.RECOMMENDATION_ISSUED, [BY_SESSION_CHAIR],
        [N.REFERRER, N.COORDINATORS],
    ),
    _edge(
        S.RECOMMENDATION_ISSUED, A.CLOSE, S.CLOSED, [BY_CASE_REFERRER, BY_COORDINATOR],
        [N.REFERRER, N.COORDINATORS],
    ),
    # A draft was never shared, so withdrawing it tells nobody (not even that it existed).
    _edge(S.DRAFT, A.WITHDRAW, S.WITHDRAWN, [BY_CASE_REFERRER], []),
    _edge(
        S.SUBMITTED, A.WITHDRAW, S.WITHDRAWN, [BY_CASE_REFERRER, BY_COORDINATOR],
        [N.REFERRER, N.COORDINATORS],
    ),
    _edge(
        S.INFORMATION_REQUESTED, A.WITHDRAW, S.WITHDRAWN, [BY_CASE_REFERRER, BY_COORDINATOR],
        [N.REFERRER, N.COORDINATORS],
    ),
    _edge(
        S.ACCEPTED, A.WITHDRAW, S.WITHDRAWN, [BY_CASE_REFERRER, BY_COORDINATOR],
        [N.REFERRER, N.COORDINATORS],
    ),
    _edge(
        S.SCHEDULED, A.WITHDRAW, S.WITHDRAWN, [BY_CASE_REFERRER, BY_COORDINATOR],
        [N.REFERRER, N.COORDINATORS, *_SESSION_PEOPLE],
    ),
)
del S, A, N

_BY_EDGE: dict[tuple[CaseStatus, CaseAction], Transition] = {
    (t.source, t.action): t for t in TRANSITIONS
}
assert len(_BY_EDGE) == len(TRANSITIONS), "two edges share a (status, action) pair"


class WorkflowError(CasebookError):
    """A transition was refused: `illegal_transition` (no such edge) or `not_allowed` (who)."""


def find_transition(status: CaseStatus, action: CaseAction) -> Transition | None:
    """The edge `action` takes from `status`, or None if there is none."""
    return _BY_EDGE.get((status, action))


def transition(status: CaseStatus, action: CaseAction, actor: Actor) -> CaseStatus:
    """The status `action` by `actor` leads to from `status`; raises `WorkflowError` if refused."""
    edge = _edge_or_raise(status, action)
    if not edge.admits(actor):
        raise WorkflowError(
            "not_allowed",
            f"Only {edge.describe_who()} may {_VERB[action]} a case {_STATE[status]}.",
        )
    return edge.target


def allowed_actions(status: CaseStatus, actor: Actor) -> list[CaseAction]:
    """The actions `actor` may take on a case in `status`, in `CaseAction` order (for the UI)."""
    return [
        action
        for action in CaseAction
        if (edge := find_transition(status, action)) is not None and edge.admits(actor)
    ]


def notifications_for(status: CaseStatus, action: CaseAction) -> frozenset[Audience]:
    """Who is told when `action` is taken from `status`; the service skips the actor themself."""
    return _edge_or_raise(status, action).notify


def _edge_or_raise(status: CaseStatus, action: CaseAction) -> Transition:
    edge = find_transition(status, action)
    if edge is None:
        raise WorkflowError(
            "illegal_transition", f"Cannot {_VERB[action]} a case {_STATE[status]}."
        )
    return edge


# Wording for error messages: "Cannot <verb> a case <state>." / "Only <who> may <verb> ...".
_VERB = {
    CaseAction.SUBMIT: "submit",
    CaseAction.REQUEST_INFORMATION: "request information on",
    CaseAction.ANSWER_INFORMATION: "answer a request for information on",
    CaseAction.ACCEPT: "accept",
    CaseAction.REJECT: "reject",
    CaseAction.SCHEDULE: "schedule",
    CaseAction.UNSCHEDULE: "unschedule",
    CaseAction.MARK_DISCUSSED: "mark as discussed",
    CaseAction.ISSUE_RECOMMENDATION: "issue a recommendation on",
    CaseAction.CLOSE: "close",
    CaseAction.WITHDRAW: "withdraw",
}
_STATE = {
    CaseStatus.DRAFT: "in draft",
    CaseStatus.SUBMITTED: "that is submitted",
    CaseStatus.INFORMATION_REQUESTED: "awaiting requested information",
    CaseStatus.ACCEPTED: "that is accepted",
    CaseStatus.SCHEDULED: "that is scheduled",
    CaseStatus.DISCUSSED: "that is discussed",
    CaseStatus.RECOMMENDATION_ISSUED: "whose recommendation is issued",
    CaseStatus.CLOSED: "that is closed",
    CaseStatus.REJECTED: "that is rejected",
    CaseStatus.WITHDRAWN: "that is withdrawn",
}
_RELATION_WHO = {
    Relation.CASE_REFERRER: "the case's referrer",
    Relation.SESSION_CHAIR: "the session's chair",
    Relation.SESSION_INVITEE: "an invitee of the session",
}
