"""A session's chair who is not a coordinator invites only people of the centers already in the
session; anyone else needs a coordinator, whose invitation is the approval (issue 20). The API
and the session page go through the same service (`review_sessions.update_session`)."""

from __future__ import annotations

from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from casebook import demo
from casebook.models import AuditEvent
from tests.web.api_helpers import Login, sign_in, user_id
from tests.web.pages.test_casebook_pages import browse
from web.app.keys import SESSIONS

Client = TestClient[Any, Any]


async def _session_chaired_by_laraza(client: Client, login_as: Login) -> tuple[int, dict[str, str]]:
    """A board chaired by La Raza's specialist with Mérida's invited; the demo users' ids."""
    ids = {
        email: await user_id(client, email)
        for email in (demo.SPECIALIST_LA_RAZA, demo.SPECIALIST_MERIDA, demo.LECTURER)
    }
    coordinator = await sign_in(client, login_as, demo.COORDINATOR)
    planned = await coordinator.ok(
        "POST", "/api/sessions",
        {"kind": "board", "title": "Junta de sarcomas", "starts_at": "2030-03-01T17:00:00Z",
         "duration_minutes": 60, "chair_user_id": ids[demo.SPECIALIST_LA_RAZA],
         "invitees": [ids[demo.SPECIALIST_MERIDA]]},
        status=201,
    )
    return planned["id"], ids


async def test_a_chair_may_not_invite_someone_from_a_center_not_in_the_session(
    web_client: Client, login_as: Login
) -> None:
    session, ids = await _session_chaired_by_laraza(web_client, login_as)
    merida, lecturer = ids[demo.SPECIALIST_MERIDA], ids[demo.LECTURER]
    chair = await sign_in(web_client, login_as, demo.SPECIALIST_LA_RAZA)

    # The lecturer's center (OncoCREAN Baja California) takes no part in the session yet.
    refused = await chair.call(
        "PATCH", f"/api/sessions/{session}", {"invitees": [merida, lecturer]}
    )
    assert refused.status == 403
    assert (await refused.json())["error"]["code"] == "invitee_outside_centers"
    assert (await chair.ok("GET", f"/api/sessions/{session}"))["invitees"] == [merida]

    # The session page says why, in Spanish, and changes nothing either.
    page = await browse(web_client, login_as, demo.SPECIALIST_LA_RAZA)
    form = FormData([("title", "Junta de sarcomas"), ("starts_at", "2030-03-01T11:00"),
                     ("duration_minutes", "60"), ("invitees", merida), ("invitees", lecturer),
                     ("decisions", "")])
    reply = await page.post(f"/sessions/{session}/edit", form, 400)
    assert "Solo la coordinación puede invitar a personas de un centro" in await reply.text()

    # A center stops being in the session with its last person: then its people are outside.
    chair = await sign_in(web_client, login_as, demo.SPECIALIST_LA_RAZA)
    await chair.ok("PATCH", f"/api/sessions/{session}", {"invitees": []})
    again = await chair.call("PATCH", f"/api/sessions/{session}", {"invitees": [merida]})
    assert again.status == 403


async def test_a_coordinators_invitation_approves_a_new_center_for_the_chair(
    web_client: Client, login_as: Login
) -> None:
    session, ids = await _session_chaired_by_laraza(web_client, login_as)
    merida, lecturer = ids[demo.SPECIALIST_MERIDA], ids[demo.LECTURER]

    coordinator = await sign_in(web_client, login_as, demo.COORDINATOR)
    await coordinator.ok("PATCH", f"/api/sessions/{session}", {"invitees": [merida, lecturer]})
    async with web_client.app[SESSIONS]() as db:
        approvals = (
            await db.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "session.outside_invitees_approved",
                    AuditEvent.target_id == str(session),
                )
            )
        ).all()
    assert [event.detail["users"] for event in approvals] == [[lecturer]]

    # The chair now saves the session with the people the coordinator approved.
    chair = await sign_in(web_client, login_as, demo.SPECIALIST_LA_RAZA)
    edited = await chair.ok(
        "PATCH", f"/api/sessions/{session}",
        {"title": "Junta de sarcomas óseos", "invitees": [lecturer, merida]},
    )
    assert (edited["title"], sorted(edited["invitees"])) == (
        "Junta de sarcomas óseos", sorted([lecturer, merida])
    )
