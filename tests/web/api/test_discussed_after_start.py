"""A case is marked discussed only once its session has started, through the API and the
session page alike (both go through `review_sessions.mark_discussed`) (issue 20)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from casebook import demo
from casebook.models import ReviewSession
from tests.web.api_helpers import SCHEDULED, Login, demo_case, sign_in
from tests.web.pages.test_casebook_pages import browse, status_of
from web.app.keys import SESSIONS

Client = TestClient[Any, Any]


async def test_a_case_cannot_be_marked_discussed_before_its_session_starts(
    web_client: Client, login_as: Login
) -> None:
    code = await demo_case(web_client, SCHEDULED)
    async with web_client.app[SESSIONS]() as db:
        board = await db.scalar(
            select(ReviewSession.id).where(ReviewSession.room_id == demo.BOARD_ROOM)
        )
    # The demo's board starts in three days; its chair is the coordinator.
    coordinator = await sign_in(web_client, login_as, demo.COORDINATOR)
    reply = await coordinator.call("POST", f"/api/sessions/{board}/agenda/{code}/discussed")
    assert reply.status == 409
    assert (await reply.json())["error"]["code"] == "session_not_started"

    page = await browse(web_client, login_as, demo.COORDINATOR)
    reply = await page.post(f"/sessions/{board}/agenda/{code}/discussed", {}, status=409)
    assert "El caso se marca como discutido una vez que la sesión empezó." in await reply.text()
    assert await status_of(web_client, code) == "scheduled"

    started = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    coordinator = await sign_in(web_client, login_as, demo.COORDINATOR)
    await coordinator.ok("PATCH", f"/api/sessions/{board}", {"starts_at": started})
    await coordinator.ok("POST", f"/api/sessions/{board}/agenda/{code}/discussed")
    assert await status_of(web_client, code) == "discussed"
