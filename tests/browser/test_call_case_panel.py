"""The case panel beside the video: the chair moves through the agenda, everyone's panel follows."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from casebook import cases, demo, review_sessions
from casebook.cases import Caller
from casebook.models import Case, ReviewSession, User
from tests.browser.calls import (
    BOARD,
    COORDINATOR,
    OpenPeople,
    Person,
    chair_and_waiting_guest,
    go_to_prejoin,
    join,
)
from tests.live import LiveServer
from web.app.keys import NOTIFIER, SESSIONS

pytestmark = pytest.mark.browser

# The machine running these may be busy: wait generously for what crosses the network.
WAIT_MS = 60_000
FIRST = demo.CASES[1]  # Meduloblastoma grupo 3: the demo board's agenda
SECOND = demo.CASES[2]  # Neuroblastoma estadio M: accepted, scheduled by the test


def schedule_second_case(server: LiveServer) -> tuple[str, str]:
    """The coordinator puts the accepted demo case second on the board; both case codes."""

    async def schedule() -> tuple[str, str]:
        async with server.app[SESSIONS]() as db:
            user = await db.scalar(select(User).where(User.email == COORDINATOR))
            assert user is not None
            who = Caller.of(user, "127.0.0.1")
            session = await db.scalar(select(ReviewSession).where(ReviewSession.room_id == BOARD))
            assert session is not None
            first = await db.scalar(select(Case.code).where(Case.diagnosis == FIRST[0]))
            second = await db.scalar(select(Case.code).where(Case.diagnosis == SECOND[0]))
            assert first is not None and second is not None
            view = await cases.find_visible(db, who, second)
            await review_sessions.schedule(db, who, session, view, server.app[NOTIFIER])
            await db.commit()
            return first, second

    return server.run(schedule(), timeout=30)


def panel_shows(person: Person, code: str) -> None:
    person.page.wait_for_selector(f'#casepanel-case[data-code="{code}"]', timeout=WAIT_MS)


def test_the_chair_moves_to_the_next_case_and_the_specialists_panel_follows(
    call_server: LiveServer, open_people: OpenPeople, artifacts: Path
) -> None:
    first, second = schedule_second_case(call_server)
    chair, specialist = chair_and_waiting_guest(open_people, call_server)
    guest_id = specialist.peer_id
    chair.open_panel("people")
    entry = chair.page.locator(f'#waiting-list li[data-peer-id="{guest_id}"]')
    entry.wait_for(timeout=WAIT_MS)
    entry.get_by_role("button", name="Admitir a Dra. Leticia Canul Pech").click()
    specialist.page.wait_for_selector('#call[data-view="incall"]', timeout=WAIT_MS)

    # Before the chair moves, everyone is at the first case of the agenda.
    for person in (chair, specialist):
        panel_shows(person, first)
        page = person.page
        assert page.locator("#casepanel-diagnosis").inner_text() == f"{FIRST[0]} ({FIRST[1]})"
        assert page.locator("#casepanel-question").inner_text() == demo.QUESTIONS[FIRST[1]]
        assert "ASR" in page.locator("#casepanel-patient").inner_text()
        assert page.locator("#casepanel-position").inner_text() == "1 de 2"
        assert page.locator("#casepanel-agenda li").count() == 2
    # Only the chair has the controls. The board starts in three days: nobody is offered to
    # issue the recommendation yet (its first step, marking the case discussed, would be refused).
    assert specialist.page.locator("#casepanel-next").count() == 0
    assert specialist.page.locator("#casepanel-issue").count() == 0
    assert chair.page.locator("#casepanel-issue").count() == 0
    assert chair.page.locator("#casepanel-status").inner_text() == "Programado"
    chair.page.screenshot(path=str(artifacts / "call-case-panel-chair.png"))

    chair.page.click("#casepanel-next")
    for person in (specialist, chair):
        panel_shows(person, second)
        page = person.page
        assert page.locator("#casepanel-diagnosis").inner_text() == f"{SECOND[0]} ({SECOND[1]})"
        assert page.locator("#casepanel-question").inner_text() == demo.QUESTIONS[SECOND[1]]
        assert page.locator("#casepanel-position").inner_text() == "2 de 2"
        assert page.locator('#casepanel-agenda li[data-current="true"]').get_attribute(
            "data-item"
        ) == "2"
    specialist.page.screenshot(path=str(artifacts / "call-case-panel-specialist.png"))

    # Back through the agenda list itself; the panel collapses and opens again.
    chair.page.locator('#casepanel-agenda li[data-item="1"] button').click()
    panel_shows(specialist, first)
    specialist.page.click("#casepanel-toggle")
    assert specialist.page.locator("#casepanel-body").is_hidden()
    specialist.page.click("#casepanel-toggle")
    assert specialist.page.locator("#casepanel-question").is_visible()


def test_the_chair_is_offered_the_recommendation_once_the_session_starts_without_a_reload(
    call_server: LiveServer, open_people: OpenPeople
) -> None:
    lead = 40.0  # seconds from now to the board's start: time for the chair to enter the call
    starts = time.time() + lead

    async def start_soon() -> None:
        async with call_server.app[SESSIONS]() as db:
            await db.execute(
                update(ReviewSession)
                .where(ReviewSession.room_id == BOARD)
                .values(starts_at=datetime.fromtimestamp(starts, UTC))
            )
            await db.commit()

    call_server.run(start_soon(), timeout=30)
    [chair] = open_people(call_server, COORDINATOR)  # the demo board's chair
    go_to_prejoin(chair, call_server, BOARD)
    join(chair)
    chair.page.wait_for_selector("#casepanel-status", timeout=WAIT_MS)
    if time.time() < starts - 1:  # (pinned in any case by the test above, three days ahead)
        assert chair.page.locator("#casepanel-issue").count() == 0
    # The page reads the case again when the session starts: the action appears by itself.
    chair.page.wait_for_selector("#casepanel-issue", state="visible", timeout=lead * 1000 + WAIT_MS)
    assert chair.page.locator("#casepanel-issue").inner_text() == "Emitir recomendación"
    assert chair.page.locator("#casepanel-status").inner_text() == "Programado"
