"""Which call rooms the session-end sweep puts guests out of: those whose session's meeting
ended in the period swept, or that were cancelled in it (issue 20)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from casebook import demo, review_sessions
from casebook.clock import utcnow
from casebook.models import ReviewSession
from tests.web.api_helpers import Login, begin_session, sign_in, user_id
from web.app.keys import SESSIONS

Client = TestClient[Any, Any]


async def test_the_sweep_finds_sessions_that_ended_or_were_cancelled_in_its_period(
    web_client: Client, login_as: Login
) -> None:
    coordinator = await sign_in(web_client, login_as, demo.COORDINATOR)
    lecturer = await user_id(web_client, demo.LECTURER)
    planned = await coordinator.ok(
        "POST", "/api/sessions",
        {"kind": "lecture", "title": "Sesión cancelada", "starts_at": "2030-03-01T17:00:00Z",
         "duration_minutes": 30, "chair_user_id": lecturer},
        status=201,
    )
    async with web_client.app[SESSIONS]() as db:
        board = await db.scalar(
            select(ReviewSession).where(ReviewSession.room_id == demo.BOARD_ROOM)
        )
        assert board is not None
        board_id = board.id
    await begin_session(web_client.app, board_id)  # started a minute ago, lasts 90 minutes

    async def ended(since_minutes: float, until_minutes: float) -> list[str]:
        now = utcnow()
        async with web_client.app[SESSIONS]() as db:
            return await review_sessions.rooms_ended_between(
                db, now + timedelta(minutes=since_minutes), now + timedelta(minutes=until_minutes)
            )

    assert await ended(-5, 0) == []
    # The board's meeting ends 89 minutes from now.
    assert await ended(88, 90) == [demo.BOARD_ROOM]
    assert await ended(90, 95) == []
    await coordinator.ok("DELETE", f"/api/sessions/{planned['id']}", status=204)
    assert await ended(-1, 0.1) == [planned["room_id"]]
