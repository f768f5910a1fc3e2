"""The cases and sessions API end to end: a referral from draft to closed, uploads, the audit API
and the OpenAPI document, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from casebook import demo
from casebook.clock import utcnow
from casebook.models import Attachment, Attendance, Notification
from tests.casebook.fhir_schema import r4_schema_errors
from tests.conftest import ClientFactory
from tests.web.api_helpers import (
    DICOM,
    EXECUTABLE,
    JPEG,
    NEW_CASE,
    PDF,
    PNG,
    SCHEDULED,
    TRUNCATED_DICOM,
    Login,
    begin_session,
    demo_case,
    sign_in,
    user_id,
)
from tests.web.openapi_conformance import conformance_problems
from web.app.keys import SESSIONS, SETTINGS
from web.calls.attendance import call_event_recorder
from web.http.openapi import api_routes


async def test_a_referral_goes_from_draft_to_closed_and_every_step_is_audited(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    client = web_client
    referrer = await sign_in(client, login_as, demo.REFERRER)
    case = await referrer.ok("POST", "/api/cases", NEW_CASE, status=201)
    code = case["code"]
    assert code.startswith(f"JC-{utcnow().year}-")
    assert case["status"] == "draft" and case["patient"]["initials"] == "RMS"
    assert case["icd10_code"] == "C69.6"
    assert case["allowed_actions"] == ["submit", "withdraw"]
    edited = await referrer.ok("PATCH", f"/api/cases/{code}", {"urgency": "urgent"})
    assert edited["urgency"] == "urgent"
    assert (await referrer.upload(code, PDF)).status == 201
    await referrer.ok("POST", f"/api/cases/{code}/submit")

    coordinator = await sign_in(client, login_as, demo.COORDINATOR)
    queue = await coordinator.ok("GET", "/api/queue")
    assert code in [e["case"]["code"] for e in queue["entries"]]
    await coordinator.ok(
        "POST", f"/api/cases/{code}/request-information", {"question": "¿Biopsia reciente?"}
    )
    referrer = await sign_in(client, login_as, demo.REFERRER)
    await referrer.ok("POST", f"/api/cases/{code}/answer-information", {"answer": "Sí, adjunta."})
    coordinator = await sign_in(client, login_as, demo.COORDINATOR)
    accepted = await coordinator.ok(
        "POST",
        f"/api/cases/{code}/accept",
        {"urgency": "priority", "specialty": "Oncología pediátrica"},
    )
    assert (accepted["status"], accepted["urgency"]) == ("accepted", "priority")
    chair = await user_id(client, demo.SPECIALIST_LA_RAZA)
    merida = await user_id(client, demo.SPECIALIST_MERIDA)
    starts = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    session = await coordinator.ok(
        "POST",
        "/api/sessions",
        {
            "kind": "consultation",
            "title": "Interconsulta de sarcomas",
            "starts_at": starts,
            "duration_minutes": 60,
            "chair_user_id": chair,
            "invitees": [merida],
        },
        status=201,
    )
    sid = session["id"]
    scheduled = await coordinator.ok("POST", f"/api/sessions/{sid}/agenda", {"case": code}, 201)
    assert [a["case_code"] for a in scheduled["agenda"]] == [code]

    specialist = await sign_in(client, login_as, demo.SPECIALIST_LA_RAZA)  # the chair
    # The chair's call room invitation makes them its moderator.
    join = await specialist.ok("POST", f"/api/rooms/{session['room_id']}/join")
    assert join["peer"]["user_id"] == chair
    await begin_session(client.app, sid)
    await specialist.ok("POST", f"/api/sessions/{sid}/agenda/{code}/discussed")
    await specialist.ok("PATCH", f"/api/sessions/{sid}", {"decisions": "Rescate quirúrgico."})
    consultant = await sign_in(client, login_as, demo.SPECIALIST_MERIDA)
    await consultant.ok("POST", f"/api/cases/{code}/opinions", {"body": "Cirugía."}, status=201)
    specialist = await sign_in(client, login_as, demo.SPECIALIST_LA_RAZA)
    nota = await specialist.ok(
        "POST",
        f"/api/cases/{code}/recommendation",
        {
            "diagnostic_criteria": "RMS embrionario, grupo III",
            "suggested_studies": "RM de órbita\nPET-CT",
            "treatment_suggestions": "Cirugía de rescate y radioterapia",
            "signatories": [merida],
        },
        status=201,
    )
    assert sorted(s["id"] for s in nota["signatories"]) == sorted([chair, merida])

    referrer = await sign_in(client, login_as, demo.REFERRER)
    read = await referrer.ok("GET", f"/api/cases/{code}/recommendation")
    assert read["treatment_suggestions"] == "Cirugía de rescate y radioterapia"
    pdf = await referrer.call("GET", f"/api/cases/{code}/recommendation.pdf")
    assert pdf.status == 200 and pdf.content_type == "application/pdf"
    assert (await pdf.read()).startswith(b"%PDF-")
    document = await referrer.ok("GET", "/api/openapi.json")
    assert conformance_problems(
        document, "GET", f"/api/cases/{code}/recommendation.pdf", 200,
        pdf.headers["Content-Type"], await pdf.read(),
    ) == []
    fhir = await referrer.call("GET", f"/api/cases/{code}/fhir")
    assert fhir.status == 200
    # The media type says the FHIR version (FHIR R4 http.html#version-parameter).
    assert fhir.headers["Content-Type"] == "application/fhir+json; fhirVersion=4.0; charset=utf-8"
    bundle = await fhir.json(content_type="application/fhir+json")
    assert bundle["resourceType"] == "Bundle"
    assert r4_schema_errors(bundle) == []
    assert "CarePlan" in {e["resource"]["resourceType"] for e in bundle["entry"]}
    closed = await referrer.ok("POST", f"/api/cases/{code}/close")
    assert closed["status"] == "closed" and closed["allowed_actions"] == []

    admin = await sign_in(client, login_as, demo.ADMIN)
    trail = await admin.ok("GET", f"/api/audit?target=case:{code}&page_size=500")
    actions = [e["action"] for e in reversed(trail["events"])]
    writes = [a for a in actions if a not in {"case.read"}]
    assert writes == [
        "case.created",
        "case.edited",
        "case.submit",
        "case.request_information",
        "case.answer_information",
        "case.accept",
        "case.schedule",
        "case.mark_discussed",
        "opinion.added",
        "case.issue_recommendation",
        "case.exported",
        "case.close",
    ]
    families = await admin.ok("GET", "/api/audit?action=recommendation.&page_size=10")
    assert [e["action"] for e in families["events"]] == [
        "recommendation.read",  # the PDF
        "recommendation.read",
        "recommendation.issued",
    ]
    uploads = await admin.ok("GET", "/api/audit?action=attachment.uploaded")
    assert uploads["events"][0]["detail"]["case"] == code
    async with client.app[SESSIONS]() as db:
        told = (
            await db.scalars(select(Notification.event).where(Notification.user_id == merida))
        ).all()
    assert "session.created" in told and "case.schedule" in told


async def test_wrong_transitions_are_409_and_wrong_people_403(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    referrer = await sign_in(web_client, login_as, demo.REFERRER)
    code = await demo_case(web_client, SCHEDULED)
    reply = await referrer.call("POST", f"/api/cases/{code}/submit")
    assert reply.status == 409
    assert (await reply.json())["error"]["code"] == "illegal_transition"
    reply = await referrer.call("POST", f"/api/cases/{code}/close")
    assert reply.status == 409
    coordinator = await sign_in(web_client, login_as, demo.COORDINATOR)
    draft = await sign_in(web_client, login_as, demo.REFERRER)
    new = await draft.ok("POST", "/api/cases", NEW_CASE, status=201)
    await draft.ok("POST", f"/api/cases/{new['code']}/submit")
    coordinator = await sign_in(web_client, login_as, demo.COORDINATOR)
    reply = await coordinator.call("POST", f"/api/cases/{new['code']}/answer-information",
                                   {"answer": "x"})
    assert reply.status == 409  # nothing was asked
    specialist = await sign_in(web_client, login_as, demo.SPECIALIST_LA_RAZA)
    reply = await specialist.call("POST", f"/api/cases/{code}/withdraw")
    assert reply.status == 403
    assert (await reply.json())["error"]["code"] == "not_allowed"


async def test_invalid_input_is_a_400_naming_the_field(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    referrer = await sign_in(web_client, login_as, demo.REFERRER)
    for field, value in [
        ("patient_initials", "Juan Pérez López"),
        ("icd10_code", "leukemia"),
        ("patient_age_years", 40),
        ("diagnosis", "a\x00b"),
    ]:
        reply = await referrer.call("POST", "/api/cases", {**NEW_CASE, field: value})
        body = await reply.json()
        assert reply.status == 400, field
        assert body["error"]["code"] == "invalid_request"
        assert body["error"]["message"].startswith(field)
        assert str(value) not in body["error"]["message"]


def _stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def test_uploads_are_checked_by_content_hashed_and_refusals_leave_nothing(
    web_client_factory: ClientFactory, login_as: Login
) -> None:
    client = await web_client_factory(max_attachment_mb=1)
    root = client.app[SETTINGS].storage_dir
    referrer = await sign_in(client, login_as, demo.REFERRER)
    code = (await referrer.ok("POST", "/api/cases", NEW_CASE, status=201))["code"]
    for content, kind in [(PDF, "pdf"), (PNG, "png"), (JPEG, "jpeg"), (DICOM, "dicom")]:
        reply = await referrer.upload(code, content, filename=f"estudio.{kind}")
        body = await reply.json()
        assert reply.status == 201, body
        assert body["kind"] == kind
        assert body["sha256"] == hashlib.sha256(content).hexdigest()
        stored = root / "sha256" / body["sha256"][:2] / body["sha256"][2:4] / body["sha256"]
        assert stored.read_bytes() == content
        download = await referrer.call("GET", body["download_url"])
        assert download.status == 200 and await download.read() == content
    before = sorted(_stored_files(root))
    big = PDF[:-7] + b"\x00" * (1024 * 1024) + b"%%EOF\n"
    for content, status in [
        (b"%PDF-1.4\n" + EXECUTABLE, 415),  # a PDF header on an executable
        (EXECUTABLE, 415),
        (TRUNCATED_DICOM, 415),
        (big, 413),
    ]:
        reply = await referrer.upload(code, content)
        assert reply.status == status
        assert (await reply.json())["error"]["code"] in {"too_large", "unsupported_type"}
    assert sorted(_stored_files(root)) == before
    assert not _stored_files(root / "tmp")
    async with client.app[SESSIONS]() as db:
        kinds = (await db.scalars(select(Attachment.kind).order_by(Attachment.id))).all()
    assert list(kinds) == ["pdf", "png", "jpeg", "dicom"]


async def test_a_multipart_part_with_a_broken_header_is_a_400(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    # Found by the fuzz test: a control character in a part's header was a 500.
    referrer = await sign_in(web_client, login_as, demo.REFERRER)
    code = (await referrer.ok("POST", "/api/cases", NEW_CASE, status=201))["code"]
    body = (
        b"--b\r\nContent-Disposition: form-data; name=\"f\x16\"\r\n\r\nx\r\n--b--\r\n"
    )
    reply = await web_client.post(
        f"/api/cases/{code}/attachments", data=body,
        headers={"Content-Type": "multipart/form-data; boundary=b", "X-CSRF-Token": referrer.csrf},
    )
    assert reply.status == 400, await reply.text()


async def test_calls_of_a_session_fill_its_attendance(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    from signaling.events import CallEvent

    coordinator = await sign_in(web_client, login_as, demo.COORDINATOR)
    (board,) = [
        s for s in (await coordinator.ok("GET", "/api/sessions"))["sessions"]
        if s["room_id"] == demo.BOARD_ROOM
    ]
    merida = await user_id(web_client, demo.SPECIALIST_MERIDA)
    on_event = call_event_recorder(web_client.app[SESSIONS])
    at = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
    await on_event(CallEvent("joined", demo.BOARD_ROOM, merida, "peer-1", at))
    await on_event(CallEvent("left", demo.BOARD_ROOM, merida, "peer-1", at + timedelta(hours=1)))
    await on_event(CallEvent("joined", "interconsulta-lla", merida, "peer-2", at))  # no session
    session = await coordinator.ok("GET", f"/api/sessions/{board['id']}")
    assert session["attendance"] == [
        {
            "user_id": merida,
            "joined_at": "2026-11-26T17:00:00Z",
            "left_at": "2026-11-26T18:00:00Z",
        }
    ]
    async with web_client.app[SESSIONS]() as db:
        assert len((await db.scalars(select(Attendance))).all()) == 1


async def test_the_demo_board_has_a_scheduled_case_on_its_agenda(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    lecturer = await sign_in(web_client, login_as, demo.LECTURER)
    (board,) = (await lecturer.ok("GET", "/api/sessions"))["sessions"]
    assert board["room_id"] == demo.BOARD_ROOM and board["kind"] == "board"
    (item,) = board["agenda"]
    assert item["diagnosis"] == SCHEDULED and item["status"] == "scheduled"
    case = await lecturer.ok("GET", f"/api/cases/{item['case_code']}")
    assert case["clinical_question"]


async def test_the_openapi_document_describes_every_api_route(
    web_client: TestClient[Any, Any],
) -> None:
    reply = await web_client.get("/api/openapi.json")
    assert reply.status == 200
    document = await reply.json()
    assert document["openapi"].startswith("3.1")
    served = api_routes(web_client.app)
    assert served, "no API routes found"
    for method, _path, name in served:
        operations = [
            op for item in document["paths"].values() for op in item.values()
            if op.get("operationId") == name
        ]
        assert len(operations) == 1, f"{method} {name} is missing from the document"
        assert operations[0]["description"].strip(), f"route {name} has no description"
        assert operations[0]["summary"].strip(), f"route {name} has no summary"
