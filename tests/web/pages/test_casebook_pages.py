"""The casebook's pages, through the whole app on SQLite and PostgreSQL: the referrer's guided
form and status page, triage and scheduling from the queue, sessions, the chair's
recommendation, the audit view and the dashboard. Forms post like a browser without scripts.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from casebook import demo
from casebook.models import AuditEvent, Case, Notification, ReviewSession, Role
from tests.casebook.mail_server import SmtpServer
from tests.web.api_helpers import (
    ACCEPTED,
    NEW_CASE,
    PDF,
    SUBMITTED,
    Login,
    begin_session,
    demo_case,
    user_id,
)
from web.app.keys import SESSIONS

Client = TestClient[Any, Any]

# The API tests' sample case, as a form posts it (every value a string).
NEW_CASE_FORM = {name: str(value) for name, value in NEW_CASE.items()}


class Browser:
    """A signed-in user posting forms with the page's CSRF token, as a browser would."""

    def __init__(self, client: Client, csrf: str) -> None:
        self.client = client
        self.csrf = csrf

    async def get(self, path: str, status: int = 200) -> str:
        reply = await self.client.get(path, allow_redirects=False)
        text = await reply.text()
        assert reply.status == status, (path, reply.status, text[:500])
        return text

    async def post(self, path: str, fields: dict[str, Any] | FormData, status: int = 303) -> Any:
        if isinstance(fields, FormData):
            fields.add_field("csrf_token", self.csrf)
            data: Any = fields
        else:
            data = {**fields, "csrf_token": self.csrf}
        reply = await self.client.post(path, data=data, allow_redirects=False)
        text = await reply.text()
        assert reply.status == status, (path, reply.status, text[:800])
        return reply


async def browse(client: Client, login_as: Login, email: str) -> Browser:
    return Browser(client, await login_as(client, email))


async def new_case(referrer: Browser) -> str:
    reply = await referrer.post("/cases/new", NEW_CASE_FORM)
    location = reply.headers["Location"]
    match = re.fullmatch(r"/cases/(JC-\d{4}-\d{6})", location)
    assert match, location
    return match.group(1)


async def submitted_case(referrer: Browser) -> str:
    """A new case, submitted by its referrer."""
    code = await new_case(referrer)
    await referrer.post(f"/cases/{code}/submit", {})
    return code


async def status_of(client: Client, code: str) -> str:
    async with client.app[SESSIONS]() as db:
        found = await db.scalar(select(Case.status).where(Case.code == code))
    assert found is not None
    return found


async def board_id(client: Client) -> int:
    async with client.app[SESSIONS]() as db:
        found = await db.scalar(
            select(ReviewSession.id).where(ReviewSession.room_id == demo.BOARD_ROOM)
        )
    assert found is not None
    return found


async def test_pages_render(web_client: Client, login_as: Login) -> None:
    coordinator = await browse(web_client, login_as, demo.COORDINATOR)
    for path in ["/cases", "/queue", "/sessions", "/sessions/new", "/stats", "/cases/new"]:
        page = await coordinator.get(path)  # `get` also checks the status is 200
        assert "<main" in page and 'lang="es-MX"' in page, path
    admin = await browse(web_client, login_as, demo.ADMIN)
    assert "<main" in await admin.get("/audit")


async def test_referrer_submits_a_case_through_the_guided_form(
    web_client: Client, login_as: Login
) -> None:
    referrer = await browse(web_client, login_as, demo.REFERRER)
    form = await referrer.get("/cases/new")
    assert 'name="patient_initials"' in form and 'name="clinical_question"' in form
    bad = await referrer.post("/cases/new", {**NEW_CASE_FORM, "icd10_code": "rabdo"}, 400)
    page = await bad.text()
    assert re.search(r'id="icd10_code"[^>]*aria-invalid="true"', page)
    assert "Rabdomiosarcoma embrionario" in page  # what was typed is kept
    # What is wrong is said beside the field, as its description, and in the focused summary.
    assert re.search(
        r'id="icd10_code"[^>]*aria-invalid="true" aria-describedby="icd10_code-error icd-help"',
        page,
    )
    assert (
        '<p class="field-error" id="icd10_code-error">Escriba un código CIE-10, por ejemplo'
        " C91.0 o C71.</p>" in page
    )
    assert re.search(r'id="error-summary" tabindex="-1" autofocus', page)
    assert '<a href="#icd10_code">Código CIE-10: Escriba un código CIE-10' in page
    assert "<title>Errores: Enviar un caso nuevo · Junta</title>" in page

    code = await new_case(referrer)
    assert await status_of(web_client, code) == "draft"
    draft = await referrer.get(f"/cases/{code}")
    assert "RMS ·" in draft and 'action="/cases/' + code + '/submit"' in draft

    upload = FormData()
    upload.add_field("file", PDF, filename="biopsia.pdf", content_type="application/pdf")
    await referrer.post(f"/cases/{code}/attachments", upload)
    wrong = FormData()
    wrong.add_field("file", b"MZ" + b"\x00" * 80, filename="virus.exe")
    refused = await referrer.post(f"/cases/{code}/attachments", wrong, 415)
    assert "PDF, JPEG, PNG" in await refused.text()

    await referrer.post(f"/cases/{code}/submit", {})
    assert await status_of(web_client, code) == "submitted"
    page = await referrer.get(f"/cases/{code}")
    assert "biopsia.pdf" in page
    assert 'data-action="case.created"' in page and 'data-action="case.submit"' in page
    async with web_client.app[SESSIONS]() as db:
        reads = await db.scalars(
            select(AuditEvent).where(AuditEvent.action == "case.read", AuditEvent.target_id == code)
        )
        assert len(reads.all()) >= 2  # every view of the page is an audited read


async def test_a_wrong_step_is_refused_on_the_page_with_a_reason(
    web_client: Client, login_as: Login
) -> None:
    referrer = await browse(web_client, login_as, demo.REFERRER)
    code = await submitted_case(referrer)
    again = await referrer.post(f"/cases/{code}/submit", {}, 409)
    assert 'class="alert form-error"' in await again.text()
    assert await status_of(web_client, code) == "submitted"


async def test_coordinator_triages_and_schedules_from_the_queue_and_the_chair_recommends(
    web_client: Client, login_as: Login
) -> None:
    referrer = await browse(web_client, login_as, demo.REFERRER)
    code = await submitted_case(referrer)

    coordinator = await browse(web_client, login_as, demo.COORDINATOR)
    queue = await coordinator.get("/queue")
    assert f'data-case="{code}"' in queue
    await coordinator.post(f"/cases/{code}/request-information", {"question": "¿Resonancia?"})
    assert await status_of(web_client, code) == "information_requested"

    referrer = await browse(web_client, login_as, demo.REFERRER)
    assert "¿Resonancia?" in await referrer.get(f"/cases/{code}")
    await referrer.post(f"/cases/{code}/answer", {"answer": "Adjunta, sin cambios."})
    assert await status_of(web_client, code) == "submitted"

    coordinator = await browse(web_client, login_as, demo.COORDINATOR)
    await coordinator.post(
        f"/cases/{code}/accept",
        {"urgency": "urgent", "specialty": "Oncología pediátrica", "note": ""},
    )
    assert await status_of(web_client, code) == "accepted"
    # A session chaired by a specialist, planned through the form.
    chair = await user_id(web_client, demo.SPECIALIST_LA_RAZA)
    merida = await user_id(web_client, demo.SPECIALIST_MERIDA)
    planned = await coordinator.post(
        "/sessions/new",
        {
            "kind": "consultation", "title": "Interconsulta de sarcomas",
            "starts_at": "2030-05-04T10:30", "duration_minutes": "45",
            "chair_user_id": chair, "invitees": merida,
        },
    )
    session_id = int(planned.headers["Location"].rsplit("/", 1)[1])
    queue = await coordinator.get("/queue")
    assert f'<option value="{session_id}">' in queue
    await coordinator.post(
        f"/cases/{code}/schedule", {"session": str(session_id), "next": "queue"}
    )
    assert await status_of(web_client, code) == "scheduled"

    specialist = await browse(web_client, login_as, demo.SPECIALIST_LA_RAZA)
    session_page = await specialist.get(f"/sessions/{session_id}")
    assert f'href="/cases/{code}"' in session_page and "10:30" in session_page
    await begin_session(web_client.app, session_id)
    await specialist.post(f"/sessions/{session_id}/agenda/{code}/discussed", {})
    assert await status_of(web_client, code) == "discussed"
    case_page = await specialist.get(f"/cases/{code}")
    assert 'id="recommendation-form"' in case_page and f'value="{merida}"' in case_page
    await specialist.post(
        f"/cases/{code}/recommendation",
        {
            "diagnostic_criteria": "Rabdomiosarcoma embrionario, grupo III.",
            "suggested_studies": "PET-CT",
            "treatment_suggestions": "Radioterapia 50.4 Gy.",
            "signatories": merida,
        },
    )
    assert await status_of(web_client, code) == "recommendation_issued"

    referrer = await browse(web_client, login_as, demo.REFERRER)
    page = await referrer.get(f"/cases/{code}")
    assert "Radioterapia 50.4 Gy." in page
    assert f'href="/api/cases/{code}/recommendation.pdf"' in page
    pdf = await web_client.get(f"/api/cases/{code}/recommendation.pdf")
    assert pdf.status == 200 and (await pdf.read()).startswith(b"%PDF")


async def test_outsiders_get_404_on_case_pages_and_the_refusal_is_audited(
    web_client: Client, login_as: Login
) -> None:
    referrer = await browse(web_client, login_as, demo.REFERRER)
    code = await new_case(referrer)  # a draft: only its center sees it
    outsider = await browse(web_client, login_as, demo.SPECIALIST_MERIDA)
    await outsider.get(f"/cases/{code}", 404)
    await outsider.post(f"/cases/{code}/submit", {}, 404)
    api = await web_client.get(f"/api/cases/{code}")
    assert api.status == 404
    merida = await user_id(web_client, demo.SPECIALIST_MERIDA)
    async with web_client.app[SESSIONS]() as db:
        refused = (
            await db.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "case.access_refused", AuditEvent.target_id == code
                )
            )
        ).all()
        reads = await db.scalar(
            select(AuditEvent.id).where(
                AuditEvent.action == "case.read", AuditEvent.actor_user_id == merida
            )
        )
    assert [e.actor_user_id for e in refused] == [merida] * 3
    assert {e.detail["route"] for e in refused} == {"page-case", "page-case-submit", "api-case"}
    assert reads is None


async def test_every_page_lets_exactly_its_roles_through(
    web_client: Client, login_as: Login
) -> None:
    from web.http.routes import declarations
    from web.pages.mount import routes as page_routes

    declared = {r.name: declarations(web_client.app)[r.key] for r in page_routes()}
    assert len(declared) >= 25
    users = {
        "admin": demo.ADMIN, "coordinator": demo.COORDINATOR,
        "specialist": demo.SPECIALIST_LA_RAZA, "lecturer": demo.LECTURER,
        "referrer": demo.REFERRER, "trainee": demo.TRAINEE,
    }
    anonymous = await web_client.get("/cases", allow_redirects=False)
    assert anonymous.status == 303 and anonymous.headers["Location"].startswith("/login")
    for role, email in users.items():
        who = await browse(web_client, login_as, email)
        for route in declared.values():
            path = route.path.replace(r"{session_id:\d+}", "999999").replace(
                "{code}", "JC-2000-999999"
            )
            reply = await web_client.request(
                route.method, path, data={"csrf_token": who.csrf}, allow_redirects=False
            )
            text = await reply.text()
            assert reply.status < 500, (role, route.name, reply.status)
            if role in {r.value for r in route.roles}:
                assert reply.status != 403, (role, route.name, reply.status)
            else:
                assert reply.status == 403, (role, route.name, reply.status)
                assert "This page is not for your role" in text or "no es para" in text


def ticked(session: int | str, *codes: str) -> FormData:
    """The queue's scheduling form: a session and the ticked cases."""
    form = FormData()
    form.add_field("session", str(session))
    for code in codes:
        form.add_field("case", code)
    return form


async def test_the_queue_schedules_the_ticked_cases_onto_one_session_all_or_none(
    web_client: Client, login_as: Login
) -> None:
    referrer = await browse(web_client, login_as, demo.REFERRER)
    fresh = await submitted_case(referrer)
    coordinator = await browse(web_client, login_as, demo.COORDINATOR)
    await coordinator.post(
        f"/cases/{fresh}/accept", {"urgency": "routine", "specialty": "Oncología", "note": ""}
    )
    accepted, submitted = await demo_case(web_client, ACCEPTED), await demo_case(
        web_client, SUBMITTED
    )
    board = await board_id(web_client)
    queue = await coordinator.get("/queue")
    assert f'<option value="{board}">' in queue
    for code in (accepted, fresh):
        assert f'value="{code}" form="schedule-form"' in queue
    assert f'value="{submitted}" form="schedule-form"' not in queue  # not accepted yet

    # One case that cannot go (still submitted): nothing goes, and the page says which.
    refused = await coordinator.post(
        "/queue/schedule", ticked(board, accepted, submitted), status=409
    )
    page = await refused.text()
    assert f"{submitted}: " in page and "No se programó ningún caso." in page
    assert await status_of(web_client, accepted) == "accepted"

    reply = await coordinator.post("/queue/schedule", ticked(board, accepted, fresh, accepted))
    assert reply.headers["Location"] == "/queue"
    assert {await status_of(web_client, c) for c in (accepted, fresh)} == {"scheduled"}
    agenda = await coordinator.get(f"/sessions/{board}")
    assert agenda.index(f'data-case="{accepted}"') < agenda.index(f'data-case="{fresh}"')

    # A form without a session or without a case is answered on the queue page.
    for form, message in (
        (ticked("", submitted), "Elija la sesión de revisión."),
        (ticked(board), "Marque los casos aceptados"),
        (ticked(board, *[f"JC-2026-{n:06d}" for n in range(1, 52)]), "a lo sumo una página"),
    ):
        answered = await coordinator.post("/queue/schedule", form, status=400)
        assert message in await answered.text()

    # A code the coordinator cannot see is a refused access: 404, audited with the code.
    await coordinator.post("/queue/schedule", ticked(board, "JC-2000-999999"), status=404)
    async with web_client.app[SESSIONS]() as db:
        refusal = await db.scalar(
            select(AuditEvent)
            .where(AuditEvent.action == "case.access_refused")
            .order_by(AuditEvent.id.desc())
        )
    assert refusal is not None and refusal.target_id == "JC-2000-999999"
    assert refusal.detail["route"] == "page-queue-schedule"


async def test_queue_flags_cases_past_the_configured_target(
    web_client_factory: Any, login_as: Login
) -> None:
    client = await web_client_factory(target_urgent_hours=1, target_priority_hours=1000)
    referrer = await browse(client, login_as, demo.REFERRER)
    urgent = await submitted_case(referrer)
    async with client.app[SESSIONS]() as db:
        case = await db.scalar(select(Case).where(Case.code == urgent))
        assert case is not None and case.submitted_at is not None
        case.urgency, case.urgency_rank = "urgent", 0
        from datetime import timedelta

        case.submitted_at = case.submitted_at - timedelta(hours=2)
        await db.commit()
    coordinator = await browse(client, login_as, demo.COORDINATOR)
    page = await coordinator.get("/queue")
    rows = re.findall(r'<tr class="(overdue|)" data-case="(JC-[\d-]+)">', page)
    # Urgent first, the longest waiting (the demo's, 6 days) before ours; both past 1 h.
    leukemia = await demo_case(client, SUBMITTED)
    assert rows[:2] == [("overdue", leukemia), ("overdue", urgent)]
    assert all(flag == "" for flag, _code in rows[2:])  # within 1000 h / 14 days


async def test_session_pages_plan_edit_and_cancel(web_client: Client, login_as: Login) -> None:
    coordinator = await browse(web_client, login_as, demo.COORDINATOR)
    lecturer = await user_id(web_client, demo.LECTURER)
    trainee = await user_id(web_client, demo.TRAINEE)
    bad = await coordinator.post(
        "/sessions/new",
        {"kind": "lecture", "title": "", "starts_at": "mañana", "duration_minutes": "1",
         "chair_user_id": lecturer},
        400,
    )
    assert 'aria-invalid="true"' in await bad.text()
    planned = await coordinator.post(
        "/sessions/new",
        {"kind": "lecture", "title": "Sesión académica: LLA", "starts_at": "2030-01-10T08:00",
         "duration_minutes": "60", "chair_user_id": lecturer, "invitees": trainee},
    )
    location = planned.headers["Location"]
    session_id = int(location.rsplit("/", 1)[1])
    form = await coordinator.get(f"{location}/edit")
    assert 'value="2030-01-10T08:00"' in form
    await coordinator.post(
        f"{location}/edit",
        {"title": "Sesión académica: LLA", "starts_at": "2030-01-11T08:00",
         "duration_minutes": "90", "invitees": trainee, "decisions": ""},
    )
    async with web_client.app[SESSIONS]() as db:
        session = await db.get(ReviewSession, session_id)
        assert session is not None and session.sequence == 1 and session.duration_minutes == 90
    assert "Sesión académica: LLA" in await coordinator.get("/sessions")
    await coordinator.post(f"{location}/cancel", {})
    await coordinator.get(location, 404)
    async with web_client.app[SESSIONS]() as db:
        cancelled = (
            await db.scalars(select(Notification).where(Notification.event == "session.cancelled"))
        ).all()
    assert {n.user_id for n in cancelled} == {lecturer, trainee}


async def test_audit_page_filters_by_case_and_pages(web_client: Client, login_as: Login) -> None:
    referrer = await browse(web_client, login_as, demo.REFERRER)
    code = await new_case(referrer)
    for _ in range(3):
        await referrer.get(f"/cases/{code}")
    admin = await browse(web_client, login_as, demo.ADMIN)
    page = await admin.get(f"/audit?case={code}&action=case.")
    assert page.count("<code>case.read</code>") == 3 and "<code>case.created</code>" in page
    assert "<code>auth.login</code>" not in page
    await admin.get("/audit?case=nonsense", 400)
    await admin.get("/audit?since=2999-01-01&until=2999-01-02")
    first = await admin.get("/audit")
    assert 'rel="next"' in first or first.count("<tr>") < 52
    async with web_client.app[SESSIONS]() as db:
        searched = await db.scalar(
            select(AuditEvent.id).where(AuditEvent.action == "audit.searched")
        )
    assert searched is not None
    coordinator = await browse(web_client, login_as, demo.COORDINATOR)
    await coordinator.get("/audit", 403)


async def test_dashboard_counts_charts_and_csv(web_client: Client, login_as: Login) -> None:
    referrer = await browse(web_client, login_as, demo.REFERRER)
    await submitted_case(referrer)
    coordinator = await browse(web_client, login_as, demo.COORDINATOR)
    page = await coordinator.get("/stats")
    assert page.count("<svg") == 3 and 'id="chart-states"' in page
    queue = re.search(r'id="stat-queue">(\d+)<', page)
    assert queue is not None and int(queue.group(1)) >= 1
    reply = await web_client.get("/stats.csv")
    text = await reply.text()
    assert reply.status == 200 and reply.content_type == "text/csv"
    lines = text.splitlines()
    assert lines[2].startswith("center,state,cases_submitted")
    total = next(line for line in lines if line.startswith("TOTAL"))
    assert int(total.split(",")[2]) >= 1
    await coordinator.get("/stats?since=2026-05-01&until=2026-01-01", 400)
    referrer = await browse(web_client, login_as, demo.REFERRER)
    await referrer.get("/stats", 403)


async def test_pages_are_spanish_by_default_and_english_on_request(
    web_client: Client, login_as: Login
) -> None:
    referrer = await browse(web_client, login_as, demo.REFERRER)
    spanish = await referrer.get("/cases/new")
    assert "Enviar un caso nuevo" in spanish
    await web_client.post("/lang", data={"lang": "en", "csrf_token": referrer.csrf})
    english = await referrer.get("/cases/new")
    assert "Submit a new case" in english


async def test_people_of_other_centers_get_404_on_every_page_naming_a_case_or_session(
    web_client: Client, login_as: Login
) -> None:
    from tests.web.api_helpers import DRAFT, SCHEDULED
    from web.pages.mount import routes as page_routes

    draft = await demo_case(web_client, DRAFT)  # HGR No. 20's draft
    scheduled = await demo_case(web_client, SCHEDULED)  # on the board; the trainee is not
    board = str(await board_id(web_client))
    outsiders = [
        (demo.COORDINATOR, Role.COORDINATOR, [draft]),
        (demo.SPECIALIST_MERIDA, Role.SPECIALIST, [draft]),
        (demo.TRAINEE, Role.TRAINEE, [draft, scheduled]),
    ]
    routes = [r for r in page_routes() if "{code}" in r.path or "{session_id" in r.path]
    checked = 0
    for email, role, codes in outsiders:
        who = await browse(web_client, login_as, email)
        for route in routes:
            if role not in route.roles:
                continue  # refused by role already (403 says nothing about any case)
            if "{code}" not in route.path and email != demo.TRAINEE:
                continue  # session pages: only the trainee is outside the board
            for code in codes:
                path = route.path.replace("{code}", code).replace(r"{session_id:\d+}", board)
                reply = await web_client.request(
                    route.method, path, data={"csrf_token": who.csrf, "session": board},
                    allow_redirects=False,
                )
                assert reply.status == 404, (email, route.name, code, reply.status)
                checked += 1
    assert checked >= 25


async def test_a_cancelled_session_mails_a_cancel_to_everyone_invited(
    web_client: Client, login_as: Login, smtp_server: SmtpServer
) -> None:
    from casebook.clock import utcnow
    from casebook.outbox import dispatch_pending
    from web.app.factory import mail_renderer
    from web.app.keys import I18N, SETTINGS

    coordinator = await browse(web_client, login_as, demo.COORDINATOR)
    lecturer = await user_id(web_client, demo.LECTURER)
    trainee = await user_id(web_client, demo.TRAINEE)
    planned = await coordinator.post(
        "/sessions/new",
        {"kind": "lecture", "title": "Sesión académica: tumores óseos",
         "starts_at": "2030-02-01T09:00", "duration_minutes": "60",
         "chair_user_id": lecturer, "invitees": trainee},
    )
    session_id = int(planned.headers["Location"].rsplit("/", 1)[1])
    render = mail_renderer(web_client.app[SETTINGS], web_client.app[I18N])
    await dispatch_pending(web_client.app[SESSIONS], smtp_server.mailer(), render, utcnow())
    await coordinator.post(f"/sessions/{session_id}/cancel", {})
    report = await dispatch_pending(
        web_client.app[SESSIONS], smtp_server.mailer(), render, utcnow()
    )
    assert report.failed == 0
    for email in (demo.LECTURER, demo.TRAINEE):
        *_invited, cancelled = smtp_server.inbox.to(email)
        [part] = [p for p in cancelled.walk() if p.get_content_type() == "text/calendar"]
        content = part.get_content()
        calendar = content.decode() if isinstance(content, bytes) else str(content)
        assert "METHOD:CANCEL" in calendar and f"UID:session-{session_id}@junta" in calendar
        assert "SEQUENCE:1" in calendar and "STATUS:CANCELLED" in calendar
    # Gone for everyone: no page, no listing, no call room.
    await coordinator.get(f"/sessions/{session_id}", 404)
    assert "tumores óseos" not in await coordinator.get("/sessions")
    lecturer_view = await browse(web_client, login_as, demo.LECTURER)
    async with web_client.app[SESSIONS]() as db:
        session = await db.get(ReviewSession, session_id)
        assert session is not None
        room = session.room_id
    await lecturer_view.get(f"/rooms/{room}", 404)


def test_the_waiting_index_covers_exactly_the_queues_statuses() -> None:
    from casebook.models import WAITING_PREDICATE
    from casebook.queue import QUEUE_STATUSES

    listed = re.search(r"status IN \(([^)]*)\)", WAITING_PREDICATE)
    assert listed is not None
    assert [s.strip(" '") for s in listed.group(1).split(",")] == [s.value for s in QUEUE_STATUSES]


async def test_coordinator_rejects_with_a_reason_and_takes_a_case_off_the_agenda(
    web_client: Client, login_as: Login
) -> None:
    from tests.web.api_helpers import SCHEDULED

    referrer = await browse(web_client, login_as, demo.REFERRER)
    code = await submitted_case(referrer)
    coordinator = await browse(web_client, login_as, demo.COORDINATOR)
    empty = await coordinator.post(f"/cases/{code}/reject", {"note": ""}, 400)  # say why
    assert "Revise los campos señalados." in await empty.text()
    await coordinator.post(f"/cases/{code}/reject", {"note": "Fuera del alcance de la red."})
    assert await status_of(web_client, code) == "rejected"
    scheduled = await demo_case(web_client, SCHEDULED)
    board = await board_id(web_client)
    await coordinator.post(f"/sessions/{board}/agenda/{scheduled}/unschedule", {})
    assert await status_of(web_client, scheduled) == "accepted"
    assert f'data-case="{scheduled}"' not in await coordinator.get(f"/sessions/{board}")
    referrer = await browse(web_client, login_as, demo.REFERRER)
    page = await referrer.get(f"/cases/{code}")
    assert "Fuera del alcance de la red." in page and 'data-action="case.reject"' in page


async def test_the_patients_sex_is_chosen_never_preselected(
    web_client: Client, login_as: Login
) -> None:
    referrer = await browse(web_client, login_as, demo.REFERRER)
    form = await referrer.get("/cases/new")
    select = re.search(r'<select id="patient_sex".*?</select>', form, re.S)
    assert select is not None
    assert re.findall(r"<option[^>]*selected[^>]*>([^<]*)<", select.group(0)) == ["Elija…"]
    missing = {**NEW_CASE_FORM, "patient_sex": ""}
    page = await (await referrer.post("/cases/new", missing, 400)).text()
    assert '<p class="field-error" id="patient_sex-error">Elija el sexo del paciente.</p>' in page
    assert re.search(r'id="patient_sex"[^>]*aria-invalid="true"', page)
    # What was typed is kept, and the choice stays open.
    assert "Rabdomiosarcoma embrionario" in page
    again = re.search(r'<select id="patient_sex".*?</select>', page, re.S)
    assert again is not None and '<option value="" selected>' in again.group(0)


async def test_a_case_that_refers_to_a_file_it_lacks_is_warned_not_refused(
    web_client: Client, login_as: Login
) -> None:
    referrer = await browse(web_client, login_as, demo.REFERRER)
    plain = await new_case(referrer)
    assert 'id="attachment-missing"' not in await referrer.get(f"/cases/{plain}")
    fields = {**NEW_CASE_FORM, "treatment_so_far": "VAC 4 ciclos; ver resumen adjunto"}
    reply = await referrer.post("/cases/new", fields)
    code = reply.headers["Location"].rsplit("/", 1)[1]
    page = await referrer.get(f"/cases/{code}")
    assert (
        '<p class="alert" id="attachment-missing">El caso menciona un documento adjunto, pero no '
        "tiene ningún archivo adjunto. Adjúntelo aquí para que la junta pueda leerlo.</p>"
    ) in page
    await referrer.post(f"/cases/{code}/submit", {})  # a warning, not a refusal
    assert await status_of(web_client, code) == "submitted"
    upload = FormData()
    upload.add_field("file", PDF, filename="resumen.pdf", content_type="application/pdf")
    await referrer.post(f"/cases/{code}/attachments", upload)
    assert 'id="attachment-missing"' not in await referrer.get(f"/cases/{code}")
