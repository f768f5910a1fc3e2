"""The casebook end to end in Chromium, through the pages only (forms, the upload script, the call):
a referrer submits a case with an attachment, a coordinator accepts it and schedules it onto a
session planned on the spot, the session's chair opens the call from the session page, sees the
case in the call's case panel and issues the recommendation there, and the referrer downloads the
nota de interconsulta as a PDF and reads it. The session page's own path (mark discussed, then the
case page's form) is walked too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.browser.calls import COORDINATOR, LARAZA, MERIDA, OpenPeople, Person
from tests.casebook.test_nota_pdf import pdf_text
from tests.live import LiveServer
from tests.web.api_helpers import PDF, begin_session

REFERRER = "referente.hgr20@junta.example"
CASE_URL = re.compile(r".*/cases/(JC-\d{4}-\d{6})$")
# The machine running these may be busy: wait generously for what crosses the network.
WAIT_MS = 60_000
# Every page runs under the real CSP; any violation lands in the console, and fails the test.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP-VIOLATION " + e.effectiveDirective + " " + e.blockedURI);
});
"""


def _user_id(server: LiveServer, email: str) -> str:
    from casebook import accounts
    from web.app.keys import SESSIONS

    async def find() -> str:
        async with server.app[SESSIONS]() as db:
            user = await accounts.find_user_by_email(db, email)
            assert user is not None
            return user.id

    return server.run(find())


def _open(open_people: OpenPeople, server: LiveServer, email: str) -> Any:
    [person] = open_people(server, email, init_script=CSP_LISTENER)
    return person.page


def submit_accept_and_schedule(
    open_people: OpenPeople, server: LiveServer, tmp_path: Path
) -> tuple[Any, str, str]:
    """The referrer's form and upload, the coordinator's triage and scheduling onto a new session
    chaired by Dr. La Raza; (the referrer's page, the case's code, the session page's address)."""
    from casebook import demo

    assert demo.REFERRER == REFERRER
    # Over the 1 MiB request limit: only the page's script (streaming, CSRF in a header) can
    # send it, so the upload proves the script ran.
    biopsy = tmp_path / "biopsia.pdf"
    biopsy.write_bytes(PDF.replace(b"trailer", b"%" + b"0" * (2 * 1024 * 1024) + b"\ntrailer"))

    # The referrer: the guided form, a file through the upload script, then submission.
    referrer = _open(open_people, server, REFERRER)
    referrer.goto(server.url + "/cases/new")
    referrer.fill("#patient_initials", "R.M.S.")
    referrer.fill("#patient_age_years", "6")
    referrer.fill("#patient_age_months", "3")
    referrer.select_option("#patient_sex", "female")
    referrer.fill("#diagnosis", "Rabdomiosarcoma embrionario de órbita")
    referrer.fill("#icd10_code", "C69.6")
    referrer.fill("#stage", "Grupo III IRS")
    referrer.fill("#treatment_so_far", "VAC 4 ciclos")
    referrer.fill("#clinical_question", "¿Radioterapia o cirugía de rescate?")
    referrer.select_option("#urgency", "priority")
    referrer.click("form.case-form button[type=submit]")
    referrer.wait_for_url(CASE_URL)
    match = CASE_URL.match(referrer.url)
    assert match
    code = match.group(1)
    referrer.set_input_files("#file", str(biopsy))
    referrer.click("form.upload-form button[type=submit]")
    referrer.locator(".file-list", has_text="biopsia.pdf").wait_for()
    referrer.click("#submit-case")
    referrer.locator('.timeline li[data-action="case.submit"]').wait_for()

    # The coordinator: triage from the case page, a new session, scheduling from the queue.
    coordinator = _open(open_people, server, COORDINATOR)
    coordinator.goto(f"{server.url}/queue")
    coordinator.click(f'tr[data-case="{code}"] a.button')
    coordinator.fill("#accept-specialty", "Oncología pediátrica")
    coordinator.click("#accept-form button[type=submit]")
    coordinator.locator('.timeline li[data-action="case.accept"]').wait_for()
    coordinator.goto(f"{server.url}/sessions/new")
    coordinator.select_option("#kind", "consultation")
    coordinator.fill("#title", "Interconsulta de sarcomas")
    coordinator.fill("#starts_at", "2030-05-04T10:30")
    coordinator.fill("#duration_minutes", "45")
    coordinator.select_option("#chair_user_id", _user_id(server, LARAZA))
    coordinator.check(f'input[name="invitees"][value="{_user_id(server, MERIDA)}"]')
    coordinator.click("form.form button[type=submit]")
    coordinator.wait_for_url(re.compile(r".*/sessions/\d+$"))
    session_url = coordinator.url
    session_id = session_url.rsplit("/", 1)[1]
    coordinator.goto(f"{server.url}/queue")
    coordinator.check(f'tr[data-case="{code}"] input[name="case"]')
    coordinator.select_option("#schedule-session", session_id)
    coordinator.click("#schedule-form button[type=submit]")
    coordinator.wait_for_url(f"{server.url}/queue")
    assert coordinator.locator(f'tr[data-case="{code}"]').count() == 0  # no longer waiting
    return referrer, code, session_url


def download_nota(referrer: Any, server: LiveServer, code: str, tmp_path: Path) -> str:
    """The referrer sees the recommendation on the case page and downloads the PDF; its text."""
    referrer.goto(f"{server.url}/cases/{code}")
    assert "Radioterapia 50.4 Gy" in referrer.locator("section.recommendation").inner_text()
    with referrer.expect_download() as download_info:
        referrer.click("#nota-pdf")
    path = download_info.value.path()
    assert path is not None
    content = Path(path).read_bytes()
    assert content.startswith(b"%PDF") and len(content) > 1000
    return pdf_text(content, tmp_path)


def assert_no_page_errors(people: list[Person]) -> None:
    for person in people:
        problems = [
            line for line in person.console if "pageerror" in line or "CSP-VIOLATION" in line
        ]
        assert not problems, (person.email, problems)


def test_the_chair_issues_the_recommendation_from_the_call_and_the_referrer_gets_the_pdf(
    live_server: LiveServer, people: list[Person], open_people: OpenPeople, tmp_path: Path
) -> None:
    server = live_server
    referrer, code, session_url = submit_accept_and_schedule(open_people, server, tmp_path)

    # The session has begun; the chair opens the call from the session page with one click.
    server.run(begin_session(server.app, session_url.rsplit("/", 1)[1]))
    chair = _open(open_people, server, LARAZA)
    chair.goto(session_url)
    chair.get_by_role("link", name="Abrir la videollamada").click()
    chair.wait_for_url(re.compile(r".*/rooms/[^/]+$"))
    chair.wait_for_selector("#join-button:not([disabled])", timeout=WAIT_MS)
    chair.click("#join-button")
    chair.wait_for_selector('#call[data-view="incall"]', timeout=WAIT_MS)

    # The case panel shows the case under discussion: the first (only) one of the agenda.
    chair.wait_for_selector(f'#casepanel-case[data-code="{code}"]', timeout=WAIT_MS)
    assert chair.locator("#casepanel-diagnosis").inner_text() == (
        "Rabdomiosarcoma embrionario de órbita (C69.6)"
    )
    assert chair.locator("#casepanel-question").inner_text() == (
        "¿Radioterapia o cirugía de rescate?"
    )
    assert chair.locator("#casepanel-files").inner_text() == "biopsia.pdf"
    assert chair.locator("#casepanel-status").inner_text() == "Programado"

    # The chair issues the recommendation from the panel; a missing field is refused in place.
    chair.click("#casepanel-issue")
    chair.fill("#casepanel-rec-criteria", "Rabdomiosarcoma embrionario de órbita, grupo III IRS.")
    chair.fill("#casepanel-rec-treatment", "   ")
    chair.click("#casepanel-rec-submit")
    assert chair.locator("#casepanel-rec-message").inner_text() == (
        "Escriba los criterios diagnósticos y las sugerencias de tratamiento."
    )
    chair.fill("#casepanel-rec-studies", "PET-CT")
    chair.fill("#casepanel-rec-treatment", "Radioterapia 50.4 Gy sobre el lecho tumoral.")
    chair.locator("#casepanel-rec-form").get_by_label("Dra. Leticia Canul Pech").check()
    chair.click("#casepanel-rec-submit")
    chair.wait_for_selector(
        '#casepanel-status[data-status="recommendation_issued"]', timeout=WAIT_MS
    )
    assert chair.locator("#casepanel-status").inner_text() == "Recomendación emitida"
    assert chair.locator("#casepanel-issue").count() == 0
    chair.locator("#casepanel-rec-done").wait_for()

    # The referrer downloads the nota and reads it.
    text = download_nota(referrer, server, code, tmp_path)
    for words in (
        "Nota de interconsulta",
        code,
        "Rabdomiosarcoma embrionario de órbita",
        "PET-CT",
        "Radioterapia 50.4 Gy",
        "Dra. Leticia Canul Pech",
    ):
        assert words in text, words
    assert_no_page_errors(people)


def test_the_chair_can_still_issue_the_recommendation_from_the_session_page(
    live_server: LiveServer, people: list[Person], open_people: OpenPeople, tmp_path: Path
) -> None:
    server = live_server
    referrer, code, session_url = submit_accept_and_schedule(open_people, server, tmp_path)

    # The chair opens the session page, marks the case discussed and issues the nota.
    server.run(begin_session(server.app, session_url.rsplit("/", 1)[1]))
    chair = _open(open_people, server, LARAZA)
    chair.goto(session_url)
    agenda_item = chair.locator(f'.agenda li[data-case="{code}"]')
    agenda_item.locator("form[action$='/discussed'] button").click()
    chair.locator(f'.agenda li[data-case="{code}"] a.button.primary').click()
    chair.wait_for_url(re.compile(f".*/cases/{code}.*"))
    chair.fill("#diagnostic_criteria", "Rabdomiosarcoma embrionario de órbita, grupo III IRS.")
    chair.fill("#suggested_studies", "PET-CT")
    chair.fill("#treatment_suggestions", "Radioterapia 50.4 Gy sobre el lecho tumoral.")
    chair.check(f'input[name="signatories"][value="{_user_id(server, MERIDA)}"]')
    chair.click("#recommendation-form button[type=submit]")
    chair.locator("section.recommendation").wait_for()

    text = download_nota(referrer, server, code, tmp_path)
    assert code in text and "Radioterapia 50.4 Gy" in text
    assert_no_page_errors(people)
