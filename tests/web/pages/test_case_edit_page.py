"""The referrer's draft edit page (`/cases/{code}/edit`), through the whole app on SQLite and
PostgreSQL: the guided form filled with the draft, saved through the same service and audit as
`PATCH /api/cases/{code}`, the way to remove identifiers the submission check found; only the
case's own center sees it, and only a draft can be changed. Forms post like a browser."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from casebook import demo
from casebook.models import AuditEvent, Case
from tests.web.api_helpers import Login
from tests.web.pages.test_casebook_pages import (
    NEW_CASE_FORM,
    browse,
    new_case,
    status_of,
    submitted_case,
)
from web.app.keys import SESSIONS

Client = TestClient[Any, Any]
CURP = "GOMR150312HDFRRS01"


async def _case(client: Client, code: str) -> Case:
    async with client.app[SESSIONS]() as db:
        found = await db.scalar(select(Case).where(Case.code == code))
    assert found is not None
    return found


async def _audit(client: Client, code: str, action: str) -> list[AuditEvent]:
    async with client.app[SESSIONS]() as db:
        events = await db.scalars(
            select(AuditEvent)
            .where(AuditEvent.target_id == code, AuditEvent.action == action)
            .order_by(AuditEvent.id)
        )
        return list(events.all())


async def test_the_referrer_edits_a_draft_through_the_guided_form(
    web_client: Client, login_as: Login
) -> None:
    referrer = await browse(web_client, login_as, demo.REFERRER)
    code = await new_case(referrer)
    case_page = await referrer.get(f"/cases/{code}")
    assert f'href="/cases/{code}/edit"' in case_page

    reads_before = len(await _audit(web_client, code, "case.read"))
    form = await referrer.get(f"/cases/{code}/edit")
    assert f'action="/cases/{code}/edit"' in form
    assert 'value="Rabdomiosarcoma embrionario de órbita"' in form
    assert re.search(r'<option value="priority"\s+selected>', form)
    assert "VAC 4 ciclos</textarea>" in form
    # The form shows the case's content: an audited read.
    assert len(await _audit(web_client, code, "case.read")) == reads_before + 1

    # Validated like /cases/new: the wrong field is marked, what was typed is kept, nothing saved.
    typed = {**NEW_CASE_FORM, "icd10_code": "rabdo", "diagnosis": "Rabdomiosarcoma alveolar"}
    bad = await referrer.post(f"/cases/{code}/edit", typed, 400)
    page = await bad.text()
    assert re.search(r'id="icd10_code"[^>]*aria-invalid="true"', page)
    assert 'value="Rabdomiosarcoma alveolar"' in page and 'value="rabdo"' in page
    assert (await _case(web_client, code)).diagnosis == "Rabdomiosarcoma embrionario de órbita"

    changed = {**NEW_CASE_FORM, "diagnosis": "Rabdomiosarcoma alveolar", "stage": "",
               "urgency": "urgent", "patient_age_years": "7"}
    reply = await referrer.post(f"/cases/{code}/edit", changed)
    assert reply.headers["Location"] == f"/cases/{code}"
    case = await _case(web_client, code)
    assert (case.diagnosis, case.stage, case.urgency, case.patient_age_years) == (
        "Rabdomiosarcoma alveolar", None, "urgent", 7,
    )
    assert case.status == "draft"
    # Audited like the API's PATCH: who, and which fields (never their content).
    edits = await _audit(web_client, code, "case.edited")
    assert len(edits) == 1 and edits[0].detail["fields"] == sorted(NEW_CASE_FORM)
    assert "alveolar" not in str(edits[0].detail)


async def test_a_refused_submission_is_fixed_on_the_edit_page_and_then_sent(
    web_client: Client, login_as: Login
) -> None:
    referrer = await browse(web_client, login_as, demo.REFERRER)
    question = f"¿Radioterapia o cirugía de rescate? CURP {CURP}"
    reply = await referrer.post("/cases/new", {**NEW_CASE_FORM, "clinical_question": question})
    code = reply.headers["Location"].rsplit("/", 1)[-1]

    refused = await referrer.post(f"/cases/{code}/submit", {}, status=422)
    page = await refused.text()
    assert "Pregunta clínica contiene una CURP" in page
    assert re.search(rf'<a href="/cases/{code}/edit" id="edit-to-remove">Edite el caso', page)

    form = await referrer.get(f"/cases/{code}/edit")
    assert f"CURP {CURP}</textarea>" in form  # what is to be removed is there to remove
    assert re.search(
        r'</textarea>\s*<p class="form-error identifier-finding" data-field="clinical_question">'
        r"Pregunta clínica contiene una CURP: GOM\*+01</p>",
        form,
    )
    cleaned = {**NEW_CASE_FORM, "clinical_question": "¿Radioterapia o cirugía de rescate?"}
    await referrer.post(f"/cases/{code}/edit", cleaned)
    assert CURP not in (await _case(web_client, code)).clinical_question

    await referrer.post(f"/cases/{code}/submit", {})
    assert await status_of(web_client, code) == "submitted"


async def test_another_centers_people_get_404_and_nothing_changes(
    web_client: Client, login_as: Login
) -> None:
    referrer = await browse(web_client, login_as, demo.REFERRER)
    code = await new_case(referrer)
    outsider = await browse(web_client, login_as, demo.SPECIALIST_MERIDA)
    await outsider.get(f"/cases/{code}/edit", 404)
    await outsider.post(
        f"/cases/{code}/edit", {**NEW_CASE_FORM, "diagnosis": "Otro diagnóstico"}, 404
    )
    assert (await _case(web_client, code)).diagnosis == NEW_CASE_FORM["diagnosis"]
    refused = await _audit(web_client, code, "case.access_refused")
    assert {e.detail["route"] for e in refused} == {"page-case-edit", "page-case-save"}
    assert await _audit(web_client, code, "case.edited") == []


async def test_a_submitted_case_is_not_editable(web_client: Client, login_as: Login) -> None:
    referrer = await browse(web_client, login_as, demo.REFERRER)
    code = await submitted_case(referrer)
    case_page = await referrer.get(f"/cases/{code}")
    assert f'href="/cases/{code}/edit"' not in case_page

    shown = await referrer.get(f"/cases/{code}/edit", 409)
    assert "Solo se puede editar un borrador; este caso ya fue enviado." in shown
    reply = await referrer.post(
        f"/cases/{code}/edit", {**NEW_CASE_FORM, "diagnosis": "Otro diagnóstico"}, 409
    )
    assert "Solo se puede editar un borrador" in await reply.text()
    assert (await _case(web_client, code)).diagnosis == NEW_CASE_FORM["diagnosis"]
    assert await status_of(web_client, code) == "submitted"
    assert await _audit(web_client, code, "case.edited") == []
