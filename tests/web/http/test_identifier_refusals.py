"""Data minimization at the door: a case naming its patient is not submitted, nor a file whose
name identifies them; the refusal lists what to remove (masked), keeps the draft and is audited
without the identifiers. Through the whole app on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from casebook import demo
from casebook.models import Attachment, AuditEvent, Case
from tests.web.api_helpers import NEW_CASE, PDF, Login, sign_in
from tests.web.pages.test_casebook_pages import NEW_CASE_FORM, browse, status_of
from web.app.keys import SESSIONS

Client = TestClient[Any, Any]
CURP = "GOMR150312HDFRRS01"
QUESTION = f"¿Radioterapia o cirugía de rescate? CURP {CURP}"


async def _refusals(client: Client, code: str) -> list[dict[str, Any]]:
    async with client.app[SESSIONS]() as db:
        events = await db.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "case.identifiers_refused", AuditEvent.target_id == code)
            .order_by(AuditEvent.id)
        )
        return [e.detail for e in events.all()]


async def test_submitting_a_case_with_a_curp_is_refused_until_it_is_removed(
    web_client: Client, login_as: Login
) -> None:
    referrer = await sign_in(web_client, login_as, demo.REFERRER)
    draft = {**NEW_CASE, "clinical_question": QUESTION, "treatment_so_far": "Tel 55 1234 5678"}
    code = (await referrer.ok("POST", "/api/cases", draft, status=201))["code"]

    reply = await referrer.call("POST", f"/api/cases/{code}/submit")
    assert reply.status == 422
    error = (await reply.json())["error"]
    assert error["code"] == "identifiers_found"
    assert error["findings"] == [
        {"field": "treatment_so_far", "kind": "phone", "masked": "55 *******78"},
        {"field": "clinical_question", "kind": "curp", "masked": "GOM*************01"},
    ]
    assert CURP not in await reply.text()

    case = await referrer.ok("GET", f"/api/cases/{code}")
    assert case["status"] == "draft" and case["clinical_question"] == QUESTION
    detail = await _refusals(web_client, code)
    assert detail == [
        {
            "step": "submit",
            "findings": [
                {"field": "treatment_so_far", "kind": "phone"},
                {"field": "clinical_question", "kind": "curp"},
            ],
        }
    ]
    assert CURP not in str(detail)

    await referrer.ok(
        "PATCH", f"/api/cases/{code}",
        {"clinical_question": "¿Radioterapia o cirugía de rescate?", "treatment_so_far": "VAC"},
    )
    submitted = await referrer.ok("POST", f"/api/cases/{code}/submit")
    assert submitted["status"] == "submitted"


async def test_a_file_named_after_the_patient_is_refused_and_nothing_is_stored(
    web_client: Client, login_as: Login
) -> None:
    referrer = await sign_in(web_client, login_as, demo.REFERRER)
    code = (await referrer.ok("POST", "/api/cases", NEW_CASE, status=201))["code"]
    reply = await referrer.upload(code, PDF, filename="Rosa_Maria_Sanchez_biopsia.pdf")
    assert reply.status == 422
    error = (await reply.json())["error"]
    assert error["findings"] == [
        {"field": "attachments", "kind": "name", "masked": "Ros*************ez"}
    ]
    assert (await referrer.upload(code, PDF, filename="biopsia.pdf")).status == 201
    async with web_client.app[SESSIONS]() as db:
        case_id = await db.scalar(select(Case.id).where(Case.code == code))
        names = (
            await db.scalars(select(Attachment.filename).where(Attachment.case_id == case_id))
        ).all()
    assert list(names) == ["biopsia.pdf"]
    assert await _refusals(web_client, code) == [
        {"step": "upload", "findings": [{"field": "attachments", "kind": "name"}]}
    ]


async def test_the_referrers_page_lists_what_to_remove_in_their_language(
    web_client: Client, login_as: Login
) -> None:
    referrer = await browse(web_client, login_as, demo.REFERRER)
    # The guided form saves the draft as typed; the check comes when it is sent.
    reply = await referrer.post("/cases/new", {**NEW_CASE_FORM, "clinical_question": QUESTION})
    code = reply.headers["Location"].rsplit("/", 1)[-1]

    reply = await referrer.post(f"/cases/{code}/submit", {}, status=422)
    page = await reply.text()
    assert "El caso no debe identificar al paciente." in page
    assert "Pregunta clínica contiene una CURP: GOM*************01" in page
    assert CURP not in page.replace(QUESTION, "")
    assert await status_of(web_client, code) == "draft"

    form = FormData()
    form.add_field("file", PDF, filename=f"{CURP}.pdf", content_type="application/pdf")
    reply = await referrer.post(f"/cases/{code}/attachments", form, status=422)
    assert "Nombre del archivo contiene una CURP: GOM*************01" in await reply.text()
