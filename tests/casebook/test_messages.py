"""Who each transition's messages go to, what they say and what they carry."""

from __future__ import annotations

import pytest

from casebook.messages import (
    AUDIENCE_ORDER,
    Message,
    Recipient,
    audience_of,
    case_message,
    case_slot_uid,
    session_messages,
    transition_messages,
)
from casebook.models import CaseStatus
from casebook.workflow import TRANSITIONS, Audience, CaseAction, Transition
from tests.casebook.summary_samples import NOW, case, gettext_es, gettext_for, session

REFERRER = Recipient("Dra. María Núñez Ibáñez", "maria.nunez@hospital.example", "es_MX",
                     "u-referrer")
COORDINATOR = Recipient("Lic. Coordinación", "coordina@red.example", "es_MX", "u-coord")
COORDINATOR_EN = Recipient("Dr. Ann Smith", "ann@red.example", "en", "u-coord-en")
CHAIR = Recipient("Dr. José Ángel Peña", "jose.pena@cmn.example", "es_MX", "u-chair")
INVITEE = Recipient("Dra. Sofía Muñoz", "sofia@himfg.example", "es_MX", "u-radio")
PEOPLE = {
    Audience.REFERRER: [REFERRER],
    Audience.COORDINATORS: [COORDINATOR, COORDINATOR_EN],
    Audience.SESSION_CHAIR: [CHAIR],
    Audience.SESSION_INVITEES: [INVITEE, CHAIR],
}
PDF = b"%PDF-1.7 nota"


def messages_for(edge: Transition, actor: str | None = None) -> list[Message]:
    return transition_messages(
        edge.source,
        edge.action,
        case=case(status=edge.target),
        audiences=PEOPLE,
        actor_user_id=actor,
        case_url="https://junta.example/cases/JC-2026-000123",
        gettext_for=gettext_for,
        now=NOW,
        session=session(),
        nota_pdf=PDF,
    )


def edge(source: CaseStatus, action: CaseAction) -> Transition:
    return next(t for t in TRANSITIONS if (t.source, t.action) == (source, action))


def calendars(message: Message) -> list[str]:
    return [a.data.decode() for a in message.attachments if a.content_type == "text/calendar"]


@pytest.mark.parametrize(
    "transition", TRANSITIONS, ids=lambda t: f"{t.source.value}-{t.action.value}"
)
def test_each_transition_tells_exactly_its_audiences_once(transition: Transition) -> None:
    expected = {
        r.user_id for audience in transition.notify for r in PEOPLE[audience]
    }
    messages = messages_for(transition)
    assert [m.recipient.user_id for m in messages] == list(
        dict.fromkeys(
            r.user_id for a in AUDIENCE_ORDER if a in transition.notify for r in PEOPLE[a]
        )
    )
    assert {m.recipient.user_id for m in messages} == expected
    for message in messages:
        assert message.event == transition.action.audit_action
        assert message.subject and message.paragraphs and message.link


def test_the_actor_is_not_told_of_their_own_action() -> None:
    messages = messages_for(edge(CaseStatus.SUBMITTED, CaseAction.ACCEPT), actor="u-referrer")
    assert messages == []
    coordinators = messages_for(edge(CaseStatus.DRAFT, CaseAction.SUBMIT), actor="u-coord")
    assert [m.recipient.user_id for m in coordinators] == ["u-coord-en"]


def test_withdrawing_a_draft_tells_nobody() -> None:
    assert messages_for(edge(CaseStatus.DRAFT, CaseAction.WITHDRAW)) == []


def test_messages_are_in_each_recipients_language() -> None:
    messages = messages_for(edge(CaseStatus.DISCUSSED, CaseAction.ISSUE_RECOMMENDATION))
    by_user = {m.recipient.user_id: m for m in messages}
    assert by_user["u-referrer"].subject == "Recomendación emitida para el caso JC-2026-000123"
    assert by_user["u-referrer"].greeting == "Hola, Dra. María Núñez Ibáñez:"
    assert by_user["u-coord-en"].subject == "Recommendation issued for case JC-2026-000123"


def test_messages_carry_no_clinical_details() -> None:
    sample = case()
    for transition in TRANSITIONS:
        for message in messages_for(transition):
            text = " ".join([message.subject, *message.paragraphs])
            for secret in (sample.patient.initials, sample.diagnosis, sample.icd10_code,
                           sample.clinical_question, sample.stage or ""):
                assert secret not in text


def test_scheduling_sends_the_referrer_their_own_calendar_entry() -> None:
    messages = messages_for(edge(CaseStatus.ACCEPTED, CaseAction.SCHEDULE))
    by_user = {m.recipient.user_id: m for m in messages}
    referrer = by_user["u-referrer"]
    assert referrer.subject.startswith("Caso JC-2026-000123 programado para el lunes, 30 de nov")
    [ics] = calendars(referrer)
    assert "METHOD:REQUEST" in ics
    assert f"UID:{case_slot_uid(session(), 'JC-2026-000123')}" in ics
    assert "SEQUENCE:2" in ics
    assert "ORGANIZER;CN=Dr. José Ángel Peña:mailto:jose.pena@cmn.example" in ics
    # Invitees already hold the session's own invitation.
    assert calendars(by_user["u-radio"]) == []
    assert calendars(by_user["u-chair"]) == []


@pytest.mark.parametrize("action", [CaseAction.UNSCHEDULE, CaseAction.WITHDRAW])
def test_leaving_the_agenda_cancels_the_referrers_entry(action: CaseAction) -> None:
    messages = messages_for(edge(CaseStatus.SCHEDULED, action))
    referrer = next(m for m in messages if m.recipient.user_id == "u-referrer")
    [ics] = calendars(referrer)
    assert "METHOD:CANCEL" in ics and "STATUS:CANCELLED" in ics
    assert f"UID:{case_slot_uid(session(), 'JC-2026-000123')}" in ics


def test_withdrawing_an_accepted_case_has_no_calendar_even_given_a_session() -> None:
    for message in messages_for(edge(CaseStatus.ACCEPTED, CaseAction.WITHDRAW)):
        assert message.attachments == ()


def test_an_issued_recommendation_carries_the_nota() -> None:
    messages = messages_for(edge(CaseStatus.DISCUSSED, CaseAction.ISSUE_RECOMMENDATION))
    assert messages
    for message in messages:
        [pdf] = message.attachments
        assert (pdf.content_type, pdf.data) == ("application/pdf", PDF)
    es = next(m for m in messages if m.recipient.locale == "es_MX")
    assert es.attachments[0].filename == "Nota de interconsulta JC-2026-000123.pdf"


def test_the_chair_is_asked_for_the_nota_once_discussed() -> None:
    messages = messages_for(edge(CaseStatus.SCHEDULED, CaseAction.MARK_DISCUSSED))
    chair = next(m for m in messages if m.recipient.user_id == "u-chair")
    assert chair.subject == "Recommendation due for case JC-2026-000123"


def test_missing_session_or_nota_is_an_error() -> None:
    with pytest.raises(ValueError, match="session"):
        case_message(
            CaseAction.SCHEDULE, Audience.REFERRER, REFERRER, case=case(), case_url="https://x",
            gettext=gettext_es, now=NOW,
        )
    with pytest.raises(ValueError, match="nota"):
        case_message(
            CaseAction.ISSUE_RECOMMENDATION, Audience.REFERRER, REFERRER, case=case(),
            case_url="https://x", gettext=gettext_es, now=NOW, session=session(),
        )


def test_audience_of_tells_the_referrer_and_the_chair_apart() -> None:
    assert audience_of("u-referrer", case(), session()) is Audience.REFERRER
    assert audience_of("u-chair", case(), session()) is Audience.SESSION_CHAIR
    assert audience_of("u-chair", case(), None) is Audience.COORDINATORS
    assert audience_of("u-coord", case(), session()) is Audience.COORDINATORS


def test_session_invitations_share_one_event_and_cancel_it() -> None:
    people = [CHAIR, INVITEE, COORDINATOR_EN, INVITEE]
    invitations = session_messages(
        "session.created", session(), people, session_url="https://junta.example/s/42",
        gettext_for=gettext_for, now=NOW,
    )
    assert [m.recipient.user_id for m in invitations] == ["u-chair", "u-radio", "u-coord-en"]
    assert invitations[0].subject == "Invitación: Comité de tumores hematológicos"
    assert invitations[2].subject == "Invitation: Comité de tumores hematológicos"
    [ics] = calendars(invitations[1])
    assert "METHOD:REQUEST" in ics and "UID:session-42@junta" in ics and "SEQUENCE:2" in ics
    assert ics.count("ATTENDEE;") == 3
    cancellations = session_messages(
        "session.cancelled", session(), people, session_url="https://junta.example/s/42",
        gettext_for=gettext_for, now=NOW,
    )
    [cancel] = calendars(cancellations[0])
    assert "METHOD:CANCEL" in cancel and "UID:session-42@junta" in cancel
    assert cancellations[0].subject == "Cancelada: Comité de tumores hematológicos"
    assert all(m.event == "session.cancelled" for m in cancellations)
