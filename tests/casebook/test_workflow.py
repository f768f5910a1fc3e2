"""The case state machine: who may move a case from which status to which, and who hears of it."""

from __future__ import annotations

import itertools
from collections import deque

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casebook.errors import CasebookError
from casebook.models import CaseStatus, Role
from casebook.workflow import (
    CLINICAL_ROLES,
    TERMINAL_STATUSES,
    TRANSITIONS,
    Actor,
    Audience,
    CaseAction,
    WorkflowError,
    allowed_actions,
    find_transition,
    notifications_for,
    transition,
)

S, A, N = CaseStatus, CaseAction, Audience

# The specification, written out independently of the module's table: (status, action) →
# (target, who may). "owner" is the case's own referrer, "chair" the session's chair; both must
# hold a clinical role.
EXPECTED: dict[tuple[CaseStatus, CaseAction], tuple[CaseStatus, set[str]]] = {
    (S.DRAFT, A.SUBMIT): (S.SUBMITTED, {"owner"}),
    (S.SUBMITTED, A.REQUEST_INFORMATION): (S.INFORMATION_REQUESTED, {"coordinator"}),
    (S.INFORMATION_REQUESTED, A.ANSWER_INFORMATION): (S.SUBMITTED, {"owner"}),
    (S.SUBMITTED, A.ACCEPT): (S.ACCEPTED, {"coordinator"}),
    (S.SUBMITTED, A.REJECT): (S.REJECTED, {"coordinator"}),
    (S.INFORMATION_REQUESTED, A.REJECT): (S.REJECTED, {"coordinator"}),
    (S.ACCEPTED, A.SCHEDULE): (S.SCHEDULED, {"coordinator"}),
    (S.SCHEDULED, A.UNSCHEDULE): (S.ACCEPTED, {"coordinator", "chair"}),
    (S.SCHEDULED, A.MARK_DISCUSSED): (S.DISCUSSED, {"coordinator", "chair"}),
    (S.DISCUSSED, A.ISSUE_RECOMMENDATION): (S.RECOMMENDATION_ISSUED, {"chair"}),
    (S.RECOMMENDATION_ISSUED, A.CLOSE): (S.CLOSED, {"owner", "coordinator"}),
    (S.DRAFT, A.WITHDRAW): (S.WITHDRAWN, {"owner"}),
    (S.SUBMITTED, A.WITHDRAW): (S.WITHDRAWN, {"owner", "coordinator"}),
    (S.INFORMATION_REQUESTED, A.WITHDRAW): (S.WITHDRAWN, {"owner", "coordinator"}),
    (S.ACCEPTED, A.WITHDRAW): (S.WITHDRAWN, {"owner", "coordinator"}),
    (S.SCHEDULED, A.WITHDRAW): (S.WITHDRAWN, {"owner", "coordinator"}),
}

EXPECTED_NOTIFY: dict[tuple[CaseStatus, CaseAction], set[Audience]] = {
    (S.DRAFT, A.SUBMIT): {N.COORDINATORS},
    (S.SUBMITTED, A.REQUEST_INFORMATION): {N.REFERRER},
    (S.INFORMATION_REQUESTED, A.ANSWER_INFORMATION): {N.COORDINATORS},
    (S.SUBMITTED, A.ACCEPT): {N.REFERRER},
    (S.SUBMITTED, A.REJECT): {N.REFERRER},
    (S.INFORMATION_REQUESTED, A.REJECT): {N.REFERRER},
    (S.ACCEPTED, A.SCHEDULE): {N.REFERRER, N.SESSION_CHAIR, N.SESSION_INVITEES},
    (S.SCHEDULED, A.UNSCHEDULE): {
        N.REFERRER, N.COORDINATORS, N.SESSION_CHAIR, N.SESSION_INVITEES,
    },
    (S.SCHEDULED, A.MARK_DISCUSSED): {N.REFERRER, N.SESSION_CHAIR},
    (S.DISCUSSED, A.ISSUE_RECOMMENDATION): {N.REFERRER, N.COORDINATORS},
    (S.RECOMMENDATION_ISSUED, A.CLOSE): {N.REFERRER, N.COORDINATORS},
    (S.DRAFT, A.WITHDRAW): set(),
    (S.SUBMITTED, A.WITHDRAW): {N.REFERRER, N.COORDINATORS},
    (S.INFORMATION_REQUESTED, A.WITHDRAW): {N.REFERRER, N.COORDINATORS},
    (S.ACCEPTED, A.WITHDRAW): {N.REFERRER, N.COORDINATORS},
    (S.SCHEDULED, A.WITHDRAW): {
        N.REFERRER, N.COORDINATORS, N.SESSION_CHAIR, N.SESSION_INVITEES,
    },
}

OWNER = Actor(Role.REFERRER, is_case_referrer=True)
OTHER_REFERRER = Actor(Role.REFERRER)
COORDINATOR = Actor(Role.COORDINATOR)
CHAIR = Actor(Role.SPECIALIST, is_session_chair=True, is_session_invitee=True)
INVITEE = Actor(Role.SPECIALIST, is_session_invitee=True)


def every_actor() -> list[Actor]:
    """Every role with every combination of relations."""
    return [
        Actor(role, referrer, chair, invitee)
        for role in Role
        for referrer, chair, invitee in itertools.product([False, True], repeat=3)
    ]


def expected_may(actor: Actor, who: set[str]) -> bool:
    clinical = actor.role in CLINICAL_ROLES
    return (
        ("coordinator" in who and actor.role is Role.COORDINATOR)
        or ("owner" in who and clinical and actor.is_case_referrer)
        or ("chair" in who and clinical and actor.is_session_chair)
    )


def test_the_table_is_exactly_the_specified_graph() -> None:
    table = {(t.source, t.action): t.target for t in TRANSITIONS}
    assert table == {edge: target for edge, (target, _) in EXPECTED.items()}
    assert len(table) == len(TRANSITIONS)  # no (status, action) pair listed twice


def test_every_transition_and_every_role() -> None:
    # Every status × action × role × relation combination: a new edge or grant cannot escape.
    for status, action, actor in itertools.product(CaseStatus, CaseAction, every_actor()):
        spec = EXPECTED.get((status, action))
        if spec is None:
            with pytest.raises(WorkflowError) as refused:
                transition(status, action, actor)
            assert refused.value.code == "illegal_transition"
        elif expected_may(actor, spec[1]):
            assert transition(status, action, actor) is spec[0]
        else:
            with pytest.raises(WorkflowError) as refused:
                transition(status, action, actor)
            assert refused.value.code == "not_allowed", (status, action, actor)


def test_allowed_actions_are_exactly_the_transitions_that_succeed() -> None:
    for status, actor in itertools.product(CaseStatus, every_actor()):
        succeeding = []
        for action in CaseAction:
            try:
                transition(status, action, actor)
            except WorkflowError:
                continue
            succeeding.append(action)
        assert allowed_actions(status, actor) == succeeding


def test_a_referral_goes_from_draft_to_closed() -> None:
    steps = [
        (A.SUBMIT, OWNER, S.SUBMITTED),
        (A.REQUEST_INFORMATION, COORDINATOR, S.INFORMATION_REQUESTED),
        (A.ANSWER_INFORMATION, OWNER, S.SUBMITTED),
        (A.ACCEPT, COORDINATOR, S.ACCEPTED),
        (A.SCHEDULE, COORDINATOR, S.SCHEDULED),
        (A.UNSCHEDULE, CHAIR, S.ACCEPTED),
        (A.SCHEDULE, COORDINATOR, S.SCHEDULED),
        (A.MARK_DISCUSSED, CHAIR, S.DISCUSSED),
        (A.ISSUE_RECOMMENDATION, CHAIR, S.RECOMMENDATION_ISSUED),
        (A.CLOSE, OWNER, S.CLOSED),
    ]
    status = S.DRAFT
    for action, actor, expected in steps:
        status = transition(status, action, actor)
        assert status is expected


def test_referrer_cannot_accept_own_case() -> None:
    with pytest.raises(WorkflowError) as refused:
        transition(S.SUBMITTED, A.ACCEPT, OWNER)
    assert refused.value.code == "not_allowed"
    assert refused.value.message == "Only a coordinator may accept a case that is submitted."


def test_referrer_cannot_submit_another_referrers_draft() -> None:
    with pytest.raises(WorkflowError, match="Only the case's referrer may submit"):
        transition(S.DRAFT, A.SUBMIT, OTHER_REFERRER)


def test_coordinator_cannot_submit_or_withdraw_someone_elses_draft() -> None:
    assert allowed_actions(S.DRAFT, COORDINATOR) == []


def test_coordinator_may_withdraw_a_submitted_case_for_the_referrer() -> None:
    for status in (S.SUBMITTED, S.INFORMATION_REQUESTED, S.ACCEPTED, S.SCHEDULED):
        assert transition(status, A.WITHDRAW, COORDINATOR) is S.WITHDRAWN
        assert transition(status, A.WITHDRAW, OWNER) is S.WITHDRAWN


def test_a_discussed_case_can_no_longer_be_withdrawn() -> None:
    for status in (S.DISCUSSED, S.RECOMMENDATION_ISSUED):
        with pytest.raises(WorkflowError) as refused:
            transition(status, A.WITHDRAW, OWNER)
        assert refused.value.code == "illegal_transition"


def test_only_the_chair_issues_the_recommendation() -> None:
    assert transition(S.DISCUSSED, A.ISSUE_RECOMMENDATION, CHAIR) is S.RECOMMENDATION_ISSUED
    for actor in (COORDINATOR, INVITEE, OWNER):
        with pytest.raises(WorkflowError) as refused:
            transition(S.DISCUSSED, A.ISSUE_RECOMMENDATION, actor)
        assert refused.value.code == "not_allowed"


def test_invitees_cannot_mark_a_case_discussed() -> None:
    assert allowed_actions(S.SCHEDULED, INVITEE) == []


def test_coordinator_may_reject_while_information_is_requested() -> None:
    assert transition(S.INFORMATION_REQUESTED, A.REJECT, COORDINATOR) is S.REJECTED


@pytest.mark.parametrize("role", [Role.ADMIN, Role.TRAINEE])
def test_admins_and_trainees_never_move_a_case_even_with_every_relation(role: Role) -> None:
    actor = Actor(role, is_case_referrer=True, is_session_chair=True, is_session_invitee=True)
    for status in CaseStatus:
        assert allowed_actions(status, actor) == []


def test_terminal_statuses_have_no_way_out() -> None:
    assert {S.CLOSED, S.REJECTED, S.WITHDRAWN} == TERMINAL_STATUSES
    for status, action in itertools.product(TERMINAL_STATUSES, CaseAction):
        assert find_transition(status, action) is None


def test_illegal_transition_has_a_stable_code_and_clear_message() -> None:
    with pytest.raises(WorkflowError) as refused:
        transition(S.DRAFT, A.ACCEPT, COORDINATOR)
    assert refused.value.code == "illegal_transition"
    assert refused.value.message == "Cannot accept a case in draft."
    assert str(refused.value) == refused.value.message
    assert isinstance(refused.value, CasebookError)


def test_every_refusal_message_is_an_english_sentence() -> None:
    for status, action, actor in itertools.product(CaseStatus, CaseAction, every_actor()):
        try:
            transition(status, action, actor)
        except WorkflowError as error:
            assert error.message[0].isupper() and error.message.endswith(".")
            assert "_" not in error.message  # no raw enum values leak into the wording


def test_every_status_is_reachable_from_draft_and_every_open_case_can_end() -> None:
    successors: dict[CaseStatus, set[CaseStatus]] = {s: set() for s in CaseStatus}
    for t in TRANSITIONS:
        successors[t.source].add(t.target)

    def reachable(start: CaseStatus) -> set[CaseStatus]:
        seen, todo = {start}, deque([start])
        while todo:
            for nxt in successors[todo.popleft()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return seen

    assert reachable(S.DRAFT) == set(CaseStatus)
    for status in CaseStatus:
        assert reachable(status) & TERMINAL_STATUSES, status


def test_notifications_follow_the_specification() -> None:
    for (status, action), audiences in EXPECTED_NOTIFY.items():
        assert notifications_for(status, action) == audiences, (status, action)
    assert EXPECTED_NOTIFY.keys() == EXPECTED.keys()


def test_withdrawing_a_draft_tells_nobody_it_existed() -> None:
    assert notifications_for(S.DRAFT, A.WITHDRAW) == frozenset()


def test_notifications_for_an_illegal_transition_are_refused() -> None:
    with pytest.raises(WorkflowError) as refused:
        notifications_for(S.CLOSED, A.SUBMIT)
    assert refused.value.code == "illegal_transition"


def test_actions_have_audit_names() -> None:
    assert A.ISSUE_RECOMMENDATION.audit_action == "case.issue_recommendation"
    assert len({a.audit_action for a in CaseAction}) == len(CaseAction)


actors = st.builds(
    Actor, st.sampled_from(list(Role)), st.booleans(), st.booleans(), st.booleans()
)


@given(st.lists(st.tuples(st.sampled_from(list(CaseAction)), actors), max_size=40))
def test_any_sequence_of_attempts_stays_on_the_graph(
    attempts: list[tuple[CaseAction, Actor]],
) -> None:
    status = S.DRAFT
    for action, actor in attempts:
        before = status
        try:
            status = transition(status, action, actor)
        except WorkflowError as error:
            assert error.code in {"illegal_transition", "not_allowed"}
            assert status is before  # a refusal changes nothing
            continue
        # Every successful step is an edge of the specification, taken by someone it admits.
        target, who = EXPECTED[(before, action)]
        assert status is target and expected_may(actor, who)
        assert before not in TERMINAL_STATUSES
