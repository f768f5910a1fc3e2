"""The case panel's API (web/api/call_cases.py): authorized by room, session and case, audited."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from casebook import demo
from casebook.models import AgendaItem, AuditEvent, Case, ReviewSession
from tests.web.api_helpers import (
    ACCEPTED,
    DRAFT,
    PDF,
    SCHEDULED,
    Login,
    begin_session,
    demo_case,
    sign_in,
)
from tests.web.api_helpers import user_id as demo_user_id
from web.app.keys import SESSIONS

ROOM = demo.BOARD_ROOM
AGENDA = f"/api/rooms/{ROOM}/agenda"


async def _board_id(client: TestClient[Any, Any]) -> int:
    async with client.app[SESSIONS]() as db:
        found = await db.scalar(select(ReviewSession.id).where(ReviewSession.room_id == ROOM))
    assert found is not None
    return found


async def _audited(client: TestClient[Any, Any], action: str, email: str) -> list[str | None]:
    """The targets of `action` events by `email`, oldest first."""
    actor = await demo_user_id(client, email)
    async with client.app[SESSIONS]() as db:
        rows = await db.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == action, AuditEvent.actor_user_id == actor)
            .order_by(AuditEvent.id)
        )
        return [row.target_id for row in rows]


async def test_invitees_read_the_agenda_and_the_case_under_discussion_and_each_read_is_audited(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    scheduled = await demo_case(web_client, SCHEDULED)
    accepted = await demo_case(web_client, ACCEPTED)
    referrer = await sign_in(web_client, login_as, demo.REFERRER)
    assert (await referrer.upload(scheduled, PDF, filename="resonancia.pdf")).status == 201
    coordinator = await sign_in(web_client, login_as, demo.COORDINATOR)
    board = await _board_id(web_client)
    await coordinator.ok("POST", f"/api/sessions/{board}/agenda", {"case": accepted}, status=201)

    specialist = await sign_in(web_client, login_as, demo.SPECIALIST_LA_RAZA)
    agenda = await specialist.ok("GET", AGENDA)
    assert agenda["session_id"] == board
    assert [(i["item"], i["visible"], i["case_code"]) for i in agenda["items"]] == [
        (1, True, scheduled), (2, True, accepted)
    ]
    first = await specialist.ok("GET", f"{AGENDA}/1")
    assert (first["item"], first["total"], first["code"]) == (1, 2, scheduled)
    assert first["patient"] == {"initials": "ASR", "age_years": 4, "age_months": 7,
                                "sex": "female"}
    assert (first["diagnosis"], first["icd10_code"]) == (SCHEDULED, "C71.6")
    assert first["stage"].startswith("Metastásico")
    assert first["treatment_so_far"] and first["clinical_question"] == demo.QUESTIONS["C71.6"]
    [attachment] = first["attachments"]
    assert attachment["filename"] == "resonancia.pdf"
    # The link is the cases API's own download route: authorized and audited there.
    download = await specialist.call("GET", attachment["download_url"])
    assert download.status == 200 and await download.read() == PDF
    second = await specialist.ok("GET", f"{AGENDA}/2")
    assert (second["code"], second["attachments"]) == (accepted, [])

    for missing in ("3", "0", "99999999999"):
        reply = await specialist.call("GET", f"{AGENDA}/{missing}")
        assert reply.status == 404, missing

    email = demo.SPECIALIST_LA_RAZA
    assert await _audited(web_client, "case.read", email) == [scheduled, accepted]
    assert await _audited(web_client, "session.read", email) == [str(board)] * 3
    assert len(await _audited(web_client, "attachment.read", email)) == 1


async def test_people_outside_the_room_or_its_session_get_404_and_admins_403(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    # The referrer (another center) and the trainee are not invited to the board's room.
    for email in (demo.REFERRER, demo.TRAINEE):
        api = await sign_in(web_client, login_as, email)
        for url in (AGENDA, f"{AGENDA}/1"):
            reply = await api.call("GET", url)
            assert reply.status == 404, (email, url)
            assert (await reply.json())["error"]["code"] == "not_found"
        assert await _audited(web_client, "case.read", email) == []
    # A room of no review session has no agenda, even for its invitees.
    specialist = await sign_in(web_client, login_as, demo.SPECIALIST_LA_RAZA)
    for url in ("/api/rooms/interconsulta-lla/agenda", "/api/rooms/interconsulta-lla/agenda/1",
                "/api/rooms/no-such-room/agenda"):
        assert (await specialist.call("GET", url)).status == 404, url
    admin = await sign_in(web_client, login_as, demo.ADMIN)
    assert (await admin.call("GET", AGENDA)).status == 403


async def test_a_case_the_invitee_may_not_see_shows_its_place_only(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    # A stale agenda row naming another center's draft: nobody outside HGR No. 20 may see it.
    draft = await demo_case(web_client, DRAFT)
    board = await _board_id(web_client)
    async with web_client.app[SESSIONS]() as db:
        case_id = await db.scalar(select(Case.id).where(Case.code == draft))
        assert case_id is not None
        db.add(AgendaItem(session_id=board, case_id=case_id, position=2))
        await db.commit()
    specialist = await sign_in(web_client, login_as, demo.SPECIALIST_MERIDA)
    reply = await specialist.call("GET", AGENDA)
    assert reply.status == 200
    text = await reply.text()
    assert DRAFT not in text and draft not in text
    items = json.loads(text)["items"]
    assert items[1] == {"item": 2, "visible": False, "case_code": None, "diagnosis": None}
    hidden = await specialist.call("GET", f"{AGENDA}/2")
    assert hidden.status == 404 and DRAFT not in await hidden.text()
    assert draft not in await _audited(web_client, "case.read", demo.SPECIALIST_MERIDA)


async def test_the_room_page_of_a_session_configures_the_case_panel(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    await login_as(web_client, demo.SPECIALIST_LA_RAZA)

    async def panel(room: str) -> Any:
        page = await (await web_client.get(f"/rooms/{room}")).text()
        found = re.search(r'id="call-config">(.*?)</script>', page, re.S)
        assert found is not None
        return json.loads(found.group(1))["case_panel"]

    assert (await panel(ROOM))["agenda_url"] == AGENDA
    assert await panel("interconsulta-lla") is None


async def test_only_the_chair_gets_the_in_call_recommendation_form_and_it_uses_the_case_apis(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    scheduled = await demo_case(web_client, SCHEDULED)
    board = await _board_id(web_client)
    specialist = await sign_in(web_client, login_as, demo.SPECIALIST_LA_RAZA)
    assert (await specialist.ok("GET", f"{AGENDA}/1"))["recommendation"] is None
    chair = await sign_in(web_client, login_as, demo.COORDINATOR)  # the demo board's chair
    # The board starts in three days: marking the case discussed (the form's first step) would
    # be refused, so the chair is offered no form yet, and told when the session starts.
    assert (await chair.ok("GET", f"{AGENDA}/1"))["recommendation"] is None
    assert (await chair.ok("GET", AGENDA))["starts_in_seconds"] > 2 * 24 * 3600
    await begin_session(web_client.app, board)
    assert (await chair.ok("GET", AGENDA))["starts_in_seconds"] == 0
    first = await chair.ok("GET", f"{AGENDA}/1")
    assert (first["code"], first["status"]) == (scheduled, "scheduled")
    form = first["recommendation"]
    assert form["issue_url"] == f"/api/cases/{scheduled}/recommendation"
    # Still only scheduled: the panel marks it discussed there first.
    assert form["discussed_url"] == f"/api/sessions/{board}/agenda/{scheduled}/discussed"
    names = {person["id"]: person["name"] for person in form["signatories"]}
    laraza = await demo_user_id(web_client, demo.SPECIALIST_LA_RAZA)
    assert laraza in names and await demo_user_id(web_client, demo.COORDINATOR) not in names

    await chair.ok("POST", form["discussed_url"])
    discussed = await chair.ok("GET", f"{AGENDA}/1")
    assert discussed["status"] == "discussed"
    assert discussed["recommendation"]["discussed_url"] is None
    body = {
        "diagnostic_criteria": "Meduloblastoma grupo 3 metastásico.",
        "suggested_studies": "",
        "treatment_suggestions": "Quimioterapia de alto riesgo y radioterapia craneoespinal.",
        "signatories": [laraza],
    }
    outsider = await demo_user_id(web_client, demo.REFERRER)
    refused = await chair.call("POST", form["issue_url"], {**body, "signatories": [outsider]})
    assert refused.status == 400
    assert (await refused.json())["error"]["code"] == "invalid_signatory"
    issued = await chair.ok("POST", form["issue_url"], body, status=201)
    # The chair signs always; the consultant who agreed too.
    assert {person["id"] for person in issued["signatories"]} == {
        laraza, await demo_user_id(web_client, demo.COORDINATOR)
    }
    after = await chair.ok("GET", f"{AGENDA}/1")
    assert (after["status"], after["recommendation"]) == ("recommendation_issued", None)
    # The specialist never had the form, and may not issue through the API either.
    assert (await specialist.call("POST", form["issue_url"], body)).status in (403, 409)


def test_every_text_of_the_case_panel_is_in_both_client_catalogs() -> None:
    from pathlib import Path

    from web.render.i18n import I18n

    script = (Path(__file__).resolve().parents[3] / "web/static/js/call/casepanel.js").read_text()
    texts = set(re.findall(r'\bt\("((?:[^"\\]|\\.)+)"', script))
    # The label tables (`t(STATUS[...])`, `t(REFUSED[...])`, ...): their values are msgids too.
    for table in re.findall(r"^const [A-Z]+ = \{(.*?)\};", script, re.S | re.M):
        texts.update(re.findall(r':\s*"([^"]+)"', table))
    assert {"Issue recommendation", "Recommendation issued", "Diagnostic criteria"} <= texts
    for locale, catalog in I18n().client.items():
        missing = sorted(text for text in texts if text not in catalog)
        assert not missing, (locale, missing)
    spanish = I18n().client["es_MX"]
    assert spanish["Issue recommendation"] == "Emitir recomendación"
