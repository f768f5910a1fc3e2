"""Who may see a case, add an opinion and write its recommendation: need-to-know, nothing more."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casebook.access import (
    AgendaSession,
    CaseFacts,
    Person,
    actor_for,
    can_add_opinion,
    can_issue_recommendation,
    can_view_case,
    sees_every_case_in,
)
from casebook.models import CaseStatus, Role
from casebook.workflow import Actor, CaseAction, allowed_actions

S = CaseStatus
HOSPITAL = 1  # the referring center
ELSEWHERE = 2

referrer = Person("u-referrer", Role.REFERRER, HOSPITAL)
colleague = Person("u-colleague", Role.REFERRER, HOSPITAL)
oncologist_here = Person("u-onco-here", Role.SPECIALIST, HOSPITAL)
trainee_here = Person("u-trainee-here", Role.TRAINEE, HOSPITAL)
lecturer_here = Person("u-lecturer-here", Role.LECTURER, HOSPITAL)
admin_here = Person("u-admin-here", Role.ADMIN, HOSPITAL)
coordinator = Person("u-coord", Role.COORDINATOR, ELSEWHERE)
other_referrer = Person("u-other-ref", Role.REFERRER, ELSEWHERE)
specialist = Person("u-spec", Role.SPECIALIST, ELSEWHERE)
chair = Person("u-chair", Role.SPECIALIST, ELSEWHERE)
invited_trainee = Person("u-trainee", Role.TRAINEE, ELSEWHERE)
invited_admin = Person("u-admin", Role.ADMIN, ELSEWHERE)

BOARD = AgendaSession(
    "board-7", chair.user_id, frozenset({specialist.user_id, invited_trainee.user_id,
                                         invited_admin.user_id, referrer.user_id}),
)
OTHER_BOARD = AgendaSession("board-9", "u-other-chair", frozenset({"u-other-invitee"}))


def case(status: CaseStatus, **overrides: object) -> CaseFacts:
    """A case of HOSPITAL's referrer, with the facts its status implies."""
    facts: dict[str, object] = {
        "referring_center_id": HOSPITAL,
        "referrer_user_id": referrer.user_id,
        "status": status,
        "ever_submitted": status is not S.DRAFT,
        "sessions": (BOARD,) if status in ON_AGENDA else (),
        "discussed_in": BOARD.session_id if status in DISCUSSED else None,
    }
    facts.update(overrides)
    return CaseFacts(**facts)  # type: ignore[arg-type]


ON_AGENDA = {S.SCHEDULED, S.DISCUSSED, S.RECOMMENDATION_ISSUED, S.CLOSED}
DISCUSSED = {S.DISCUSSED, S.RECOMMENDATION_ISSUED, S.CLOSED}


def test_referrer_sees_own_case_in_every_status() -> None:
    for status in CaseStatus:
        assert can_view_case(referrer, case(status)), status


def test_referrer_cannot_read_other_centers_cases() -> None:
    for status in CaseStatus:
        assert not can_view_case(other_referrer, case(status))


def test_the_referring_centers_treating_team_sees_its_cases_and_drafts() -> None:
    for person in (colleague, oncologist_here):
        assert can_view_case(person, case(S.DRAFT))
        assert can_view_case(person, case(S.CLOSED))


@pytest.mark.parametrize("person", [trainee_here, lecturer_here])
def test_trainees_and_lecturers_do_not_see_their_centers_cases_by_default(person: Person) -> None:
    assert not can_view_case(person, case(S.SUBMITTED))


def test_coordinators_see_submitted_cases_network_wide() -> None:
    for status in set(CaseStatus) - {S.DRAFT}:
        assert can_view_case(coordinator, case(status)), status


def test_coordinators_do_not_see_another_centers_drafts() -> None:
    assert not can_view_case(coordinator, case(S.DRAFT))
    assert not can_view_case(coordinator, case(S.WITHDRAWN, ever_submitted=False))
    assert can_view_case(coordinator, case(S.WITHDRAWN, ever_submitted=True))


def test_a_coordinator_of_the_referring_center_sees_its_drafts() -> None:
    assert can_view_case(Person("u-local-coord", Role.COORDINATOR, HOSPITAL), case(S.DRAFT))


@pytest.mark.parametrize("admin", [admin_here, invited_admin])
def test_admins_never_read_clinical_content(admin: Person) -> None:
    for status in CaseStatus:
        assert not can_view_case(admin, case(status))
    as_owner = case(S.SUBMITTED, referrer_user_id=admin.user_id)
    as_chair = case(S.SCHEDULED, sessions=(AgendaSession("b", admin.user_id),))
    assert not can_view_case(admin, as_owner)
    assert not can_view_case(admin, as_chair)


def test_session_invitees_see_a_case_on_their_agenda() -> None:
    for person in (specialist, chair, invited_trainee):
        for status in ON_AGENDA:
            assert can_view_case(person, case(status)), (person, status)


def test_invitees_of_another_session_do_not_see_the_case() -> None:
    outsider = Person("u-other-invitee", Role.SPECIALIST, ELSEWHERE)
    assert not can_view_case(outsider, case(S.SCHEDULED))
    assert can_view_case(outsider, case(S.SCHEDULED, sessions=(BOARD, OTHER_BOARD)))


def test_stale_agenda_rows_give_invitees_nothing() -> None:
    # Unscheduled (back to accepted), rejected or withdrawn: the session no longer discusses it.
    for status in (S.ACCEPTED, S.WITHDRAWN, S.REJECTED, S.SUBMITTED):
        assert not can_view_case(specialist, case(status, sessions=(BOARD,))), status


def test_specialists_outside_the_case_see_nothing() -> None:
    for status in CaseStatus:
        assert not can_view_case(Person("u-x", Role.SPECIALIST, ELSEWHERE), case(status))


def test_invited_specialists_and_coordinators_add_opinions_while_under_review() -> None:
    assert can_add_opinion(coordinator, case(S.ACCEPTED))
    for status in (S.SCHEDULED, S.DISCUSSED):
        assert can_add_opinion(specialist, case(status))
        assert can_add_opinion(chair, case(status))
        assert can_add_opinion(coordinator, case(status))


def test_no_opinions_before_acceptance_or_after_the_recommendation() -> None:
    for status in set(CaseStatus) - {S.ACCEPTED, S.SCHEDULED, S.DISCUSSED}:
        assert not can_add_opinion(coordinator, case(status)), status
        assert not can_add_opinion(specialist, case(status)), status


@pytest.mark.parametrize("person", [referrer, invited_trainee, invited_admin])
def test_referrers_trainees_and_admins_do_not_write_opinions(person: Person) -> None:
    assert not can_add_opinion(person, case(S.SCHEDULED))


def test_uninvited_specialist_cannot_add_an_opinion() -> None:
    assert not can_add_opinion(Person("u-x", Role.SPECIALIST, ELSEWHERE), case(S.SCHEDULED))


def test_the_chair_of_the_discussing_session_issues_the_recommendation() -> None:
    assert can_issue_recommendation(chair, case(S.DISCUSSED))


def test_nobody_else_issues_the_recommendation() -> None:
    for person in (coordinator, specialist, referrer, invited_trainee, invited_admin):
        assert not can_issue_recommendation(person, case(S.DISCUSSED))
    # Not before the discussion, nor twice.
    for status in set(CaseStatus) - {S.DISCUSSED}:
        assert not can_issue_recommendation(chair, case(status))


def test_the_chair_of_another_session_on_the_agenda_cannot_issue_it() -> None:
    both = case(S.DISCUSSED, sessions=(BOARD, OTHER_BOARD), discussed_in=OTHER_BOARD.session_id)
    assert not can_issue_recommendation(chair, both)
    other_chair = Person(OTHER_BOARD.chair_user_id, Role.SPECIALIST, ELSEWHERE)
    assert can_issue_recommendation(other_chair, both)


def test_actor_for_states_the_relations_from_the_facts() -> None:
    assert actor_for(referrer, case(S.SUBMITTED)) == Actor(Role.REFERRER, is_case_referrer=True)
    assert actor_for(chair, case(S.SCHEDULED)) == Actor(
        Role.SPECIALIST, is_session_chair=True, is_session_invitee=True
    )
    assert actor_for(specialist, case(S.SCHEDULED)) == Actor(
        Role.SPECIALIST, is_session_invitee=True
    )
    assert actor_for(chair, case(S.ACCEPTED, sessions=(BOARD,))) == Actor(Role.SPECIALIST)


@pytest.mark.parametrize(
    ("status", "overrides", "message"),
    [
        (S.DRAFT, {"ever_submitted": True}, "draft"),
        (S.SUBMITTED, {"ever_submitted": False}, "submitted"),
        (S.DISCUSSED, {"discussed_in": None}, "discussed"),
        (S.SCHEDULED, {"discussed_in": "board-7"}, "discussed"),
        (S.SCHEDULED, {"sessions": ()}, "agenda"),
        (S.CLOSED, {"discussed_in": "board-404"}, "among its sessions"),
    ],
)
def test_contradictory_facts_are_refused(
    status: CaseStatus, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        case(status, **overrides)


# Any person, any consistent case: permissions to act never exceed permission to see.
people = st.builds(
    Person,
    st.sampled_from(["u-referrer", "u-chair", "u-spec", "u-x", "u-other-chair"]),
    st.sampled_from(list(Role)),
    st.sampled_from([HOSPITAL, ELSEWHERE]),
)


@st.composite
def cases(draw: st.DrawFn) -> CaseFacts:
    status = draw(st.sampled_from(list(CaseStatus)))
    sessions = draw(st.sampled_from([(), (BOARD,), (OTHER_BOARD,), (BOARD, OTHER_BOARD)]))
    if status in ON_AGENDA and not sessions:
        sessions = (BOARD,)
    discussed_in = draw(st.sampled_from(sessions)).session_id if status in DISCUSSED else None
    ever = status is not S.DRAFT and (status is not S.WITHDRAWN or draw(st.booleans()))
    return CaseFacts(
        referring_center_id=draw(st.sampled_from([HOSPITAL, ELSEWHERE])),
        referrer_user_id=draw(st.sampled_from(["u-referrer", "u-chair", "u-spec"])),
        status=status,
        ever_submitted=ever,
        sessions=sessions if status is not S.DRAFT else (),
        discussed_in=discussed_in,
    )


@given(people, cases())
def test_a_status_that_shows_every_case_shows_this_one(person: Person, facts: CaseFacts) -> None:
    # The case listing drops its per-row visibility test when `sees_every_case_in` holds.
    if sees_every_case_in(person.role, facts.status):
        assert can_view_case(person, facts)


def test_coordinators_see_every_case_past_draft_and_nobody_else_sees_all() -> None:
    shown = {
        (role, status)
        for role in Role
        for status in CaseStatus
        if sees_every_case_in(role, status)
    }
    assert shown == {
        (Role.COORDINATOR, status)
        for status in CaseStatus
        if status not in {S.DRAFT, S.WITHDRAWN}
    }


@given(people, cases())
def test_whoever_may_act_on_a_case_may_see_it(person: Person, facts: CaseFacts) -> None:
    acts = allowed_actions(facts.status, actor_for(person, facts))
    if acts or can_add_opinion(person, facts) or can_issue_recommendation(person, facts):
        assert can_view_case(person, facts)
    if person.role is Role.ADMIN:
        assert not can_view_case(person, facts) and not acts


@given(people, cases())
def test_issuing_the_recommendation_agrees_with_the_workflow(
    person: Person, facts: CaseFacts
) -> None:
    expected = (
        facts.status is S.DISCUSSED
        and person.role in {Role.COORDINATOR, Role.SPECIALIST, Role.LECTURER, Role.REFERRER}
        and any(
            s.session_id == facts.discussed_in and s.chair_user_id == person.user_id
            for s in facts.sessions
        )
    )
    assert can_issue_recommendation(person, facts) is expected
    assert (CaseAction.ISSUE_RECOMMENDATION in allowed_actions(
        facts.status, actor_for(person, facts))) is expected


def test_every_role_at_every_place_against_every_status() -> None:
    # A compact matrix of the rules, so a change to any of them shows up here.
    relations = {
        "owner": lambda role, center: Person("u-referrer", role, center),
        "invitee": lambda role, center: Person("u-spec", role, center),
        "stranger": lambda role, center: Person("u-x", role, center),
    }
    for (name, make), role, center, status in itertools.product(
        relations.items(), Role, (HOSPITAL, ELSEWHERE), CaseStatus
    ):
        person = make(role, center)
        facts = case(status)
        expected = role is not Role.ADMIN and (
            (name == "owner" and role is not Role.TRAINEE)
            or (center == HOSPITAL and role in {Role.REFERRER, Role.SPECIALIST, Role.COORDINATOR})
            or (role is Role.COORDINATOR and status is not S.DRAFT)
            # BOARD invites both the referrer and u-spec.
            or (name in {"owner", "invitee"} and status in ON_AGENDA)
        )
        assert can_view_case(person, facts) is expected, (name, role, center, status)
