"""Script injection: markup typed into any text shown to others is shown as text, never run.

Every text field other people see — a case's clinical fields, an opinion, the recommendation, a
session's title and decisions, a person's display name (set by an admin), a chat message — gets
an `<img onerror>` and a `<script>` payload, then each page that shows it is opened in Chromium
as someone else: the payload's script never ran (`window.__xss` stays undefined), the page holds
no element the payload would have created (so this holds by escaping, not only because the
Content-Security-Policy would block inline script), and the text appears literally.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from casebook import accounts, demo, recordings
from tests.browser.calls import (
    CONSULTATION,
    LARAZA,
    MERIDA,
    OpenPeople,
    Person,
    enter,
    wait_connected,
)
from tests.casebook.recording_samples import copy_sample
from tests.live import LiveServer
from tests.web.api_helpers import NEW_CASE, begin_session
from web.app.keys import SESSIONS

pytestmark = pytest.mark.browser

IMG = '<img src=x onerror="window.__xss=1">'
SCRIPT = "<script>window.__xss=1</script>"


def payload(label: str) -> str:
    """A distinct text per field, carrying both payloads."""
    return f"{label} {IMG} {SCRIPT}"


# Anything the payloads would create if they were parsed as markup.
INJECTED = """() => [...document.querySelectorAll('img[src="x"], script')]
  .filter((e) => e.tagName === 'IMG' || (e.textContent || '').includes('__xss')).length"""


async def user_id(server: LiveServer, email: str) -> str:
    async with server.app[SESSIONS]() as db:
        user = await accounts.find_user_by_email(db, email)
    assert user is not None
    return user.id


def api(
    person: Person, server: LiveServer, method: str, path: str, body: Any, *, status: int = 0
) -> Any:
    """A JSON API call from the person's page (their cookies, the page's CSRF token); it must
    succeed, or answer `status` if given."""
    if not person.page.url.startswith(server.url):
        person.page.goto(server.url + "/dashboard")
    token = person.page.locator('meta[name="csrf-token"]').get_attribute("content")
    reply = person.page.request.fetch(
        server.url + path, method=method, data=body, headers={"X-CSRF-Token": token or ""}
    )
    if status:
        assert reply.status == status, (path, reply.status, reply.text()[:300])
    else:
        assert reply.status < 300, (path, reply.status, reply.text()[:300])
    return reply.json() if reply.status != 204 else None


def assert_inert(person: Person, texts: list[str], *, where: str) -> None:
    """The page shows each text literally and nothing in it ran or became markup."""
    page = person.page
    page.wait_for_load_state("load")
    time.sleep(0.3)  # let a broken <img> fire its error event, were there one
    assert page.evaluate("window.__xss") is None, where
    assert page.evaluate(INJECTED) == 0, where
    shown = page.evaluate("document.body.innerText + ' ' + document.title")
    for text in texts:
        assert text in shown, (where, text)


def test_markup_in_every_shared_text_field_is_shown_as_text(
    call_server: LiveServer, open_people: OpenPeople
) -> None:
    server = call_server
    referrer, coordinator, laraza, merida, admin = open_people(
        server, demo.REFERRER, demo.COORDINATOR, LARAZA, MERIDA, demo.ADMIN
    )

    # A case whose clinical text is all markup, submitted to the network.
    fields = {
        name: payload(name)
        for name in ("diagnosis", "stage", "treatment_so_far", "clinical_question")
    }
    # The pseudonym (initials) admits letters only: markup is refused at the door.
    bad = {**NEW_CASE, "patient_initials": IMG}
    assert api(referrer, server, "POST", "/api/cases", bad, status=400)["error"]["code"] == (
        "invalid_request"
    )
    case = api(referrer, server, "POST", "/api/cases", {**NEW_CASE, **fields})
    code = case["code"]
    api(referrer, server, "POST", f"/api/cases/{code}/submit", {})
    # The queue shows diagnosis and question; the case page every field.
    coordinator.page.goto(f"{server.url}/queue")
    assert_inert(coordinator, [fields["diagnosis"]], where="queue")
    coordinator.page.goto(f"{server.url}/cases/{code}")
    assert_inert(coordinator, list(fields.values()), where="case page")

    # A session whose title and decisions are markup, with the case on its agenda.
    api(coordinator, server, "POST", f"/api/cases/{code}/accept",
        {"urgency": "priority", "specialty": "Oncología pediátrica"})
    laraza_id = server.run(user_id(server, LARAZA))
    title = payload("Sesión")
    session = api(coordinator, server, "POST", "/api/sessions", {
        "kind": "board", "title": title, "starts_at": "2030-01-15T17:00:00+00:00",
        "duration_minutes": 60, "chair_user_id": laraza_id, "invitees": [],
    })
    sid = session["id"]
    api(coordinator, server, "POST", f"/api/sessions/{sid}/agenda", {"case": code})
    decisions = payload("Acuerdos")
    api(coordinator, server, "PATCH", f"/api/sessions/{sid}", {"decisions": decisions})

    # An opinion and the chair's recommendation, both markup.
    opinion = payload("Opinión")
    api(laraza, server, "POST", f"/api/cases/{code}/opinions", {"body": opinion})
    recommendation = {
        "diagnostic_criteria": payload("Criterios"),
        "suggested_studies": payload("Estudios"),
        "treatment_suggestions": payload("Tratamiento"),
    }
    server.run(begin_session(server.app, sid))
    api(laraza, server, "POST", f"/api/sessions/{sid}/agenda/{code}/discussed", {})
    api(laraza, server, "POST", f"/api/cases/{code}/recommendation", recommendation)

    for person in (coordinator, referrer):
        person.page.goto(f"{server.url}/cases/{code}")
        assert_inert(
            person, [fields["diagnosis"], *recommendation.values()], where="case page (issued)"
        )
    coordinator.page.goto(f"{server.url}/cases/{code}")
    assert_inert(coordinator, [opinion], where="case page opinions")
    for path in (f"/sessions/{sid}", "/sessions", "/dashboard"):
        laraza.page.goto(server.url + path)
        assert_inert(laraza, [title], where=path)
    laraza.page.goto(f"{server.url}/sessions/{sid}")
    assert_inert(laraza, [decisions, fields["diagnosis"]], where="session page")

    # A recording of that session: the library lists it by the session's title.
    async def record() -> None:
        async with server.app[SESSIONS]() as db:
            await recordings.begin_recording(
                db, room_id=session["room_id"], started_by_user_id=laraza_id,
                recording_id="xss-rec",
            )
            manifest = copy_sample(server.settings.recordings_dir, "xss-rec",
                                   session["room_id"])
            await recordings.complete_recording(db, manifest, {"peer-lecturer": title})
            await db.commit()

    server.run(record())
    for path in ("/recordings", "/recordings/xss-rec"):
        laraza.page.goto(server.url + path)
        assert_inert(laraza, [title], where=path)

    # An admin renames La Raza's specialist to markup (through the admin form).
    name = payload("Dr.")
    admin.page.goto(f"{server.url}/admin/users")
    admin.page.click("a:has-text('Hernández Cruz')")
    admin.page.fill("input[name=name]", name)
    with admin.page.expect_navigation():
        admin.page.click("form.form button[type=submit]")
    assert admin.page.locator("input[name=name]").input_value() == name
    admin.page.goto(f"{server.url}/admin/users")
    assert_inert(admin, [name], where="admin users")

    # In a call: the new name in Mérida's participant list, and a chat message of markup.
    enter([laraza, merida], server, CONSULTATION)
    wait_connected(laraza, merida)
    chat = payload("Chat")
    laraza.open_panel("chat")
    laraza.page.fill("#chat-input", chat)
    laraza.page.keyboard.press("Enter")
    merida.open_panel("chat")
    merida.page.locator("#chat-log .chat-text").last.wait_for(timeout=5000)
    merida.open_panel("people")
    merida.page.wait_for_selector(f'#people-list li[data-peer-id="{laraza.peer_id}"]')
    assert_inert(merida, [chat, name], where="call room")
