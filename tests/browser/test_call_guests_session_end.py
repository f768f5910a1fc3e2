"""Guests leave with their review session (issue 20): when the session's meeting is over, a guest
still in its call is put out at once and told why, and the link no longer opens the room."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from casebook.clock import utcnow
from casebook.models import ReviewSession
from tests.browser.calls import (
    BOARD,
    COORDINATOR,
    CREATE_GUEST_LINK,
    OpenPeople,
    Person,
    admit,
    enter,
    guest_waits,
)
from tests.live import LiveServer
from web.app.keys import SESSIONS

pytestmark = pytest.mark.browser

WAIT_MS = 60_000
GUEST = "Dr. Invitado Externo"


def end_the_board_in(server: LiveServer, seconds: float) -> None:
    """The demo board (90 minutes) is moved so that its meeting ends `seconds` from now."""

    async def move() -> None:
        async with server.app[SESSIONS]() as db:
            starts = utcnow() - timedelta(minutes=90) + timedelta(seconds=seconds)
            await db.execute(
                update(ReviewSession)
                .where(ReviewSession.room_id == BOARD)
                .values(starts_at=starts)
            )
            await db.commit()

    server.run(move(), timeout=30)


def test_a_guest_in_the_call_is_put_out_when_the_session_ends_and_told_why(
    browser: Any, call_server: LiveServer, people: list[Person], open_people: OpenPeople
) -> None:
    [chair] = open_people(call_server, COORDINATOR)  # the demo board's chair
    enter([chair], call_server, BOARD)
    created = chair.page.evaluate(CREATE_GUEST_LINK, BOARD)
    assert created["status"] == 201, created
    link = created["body"]["url"]
    guest = guest_waits(browser, people, link, GUEST)
    admit(chair, guest, GUEST)
    guest_id = guest.peer_id
    chair.page.wait_for_selector(f'#people-list li[data-peer-id="{guest_id}"]', timeout=WAIT_MS)

    end_the_board_in(call_server, 3)
    # Not when the guest's token runs out (minutes): within a sweep of the end.
    guest.page.wait_for_selector('#call[data-view="ended"]', timeout=WAIT_MS)
    assert guest.page.locator("#ended-text").inner_text() == "La sesión terminó."
    chair.page.wait_for_selector(
        f'#people-list li[data-peer-id="{guest_id}"]', state="detached", timeout=WAIT_MS
    )
    # The guest page does not come back by itself, and the link opens nothing any more.
    assert guest.page.locator('#call[data-view="ended"]').count() == 1
    guest.page.goto(link)
    assert guest.page.locator("h1").inner_text() == "Esta invitación ya venció"
