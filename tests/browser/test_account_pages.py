"""Account and administration pages in Chromium, under the real Content-Security-Policy: the
two-step sign-in, the enrollment page with its QR code, and names with markup in them shown to
an administrator without running."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import select, update

from casebook import demo, totp
from casebook.models import User
from tests.browser.calls import Person, open_person, sign_in
from tests.browser.test_csp import LISTENER, csp_reports, watch
from tests.live import LiveServer
from web.app.keys import SESSIONS

pytestmark = pytest.mark.browser

PAYLOAD = '<img src=x onerror="window.__injected=1">'


def _context(browser: Any, email: str) -> Person:
    context = browser.new_context(locale="es-MX", viewport={"width": 1280, "height": 800})
    context.add_init_script(LISTENER)
    page = context.new_page()
    person = Person(email, context, page)
    page.on("console", lambda message: person.console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: person.console.append(f"pageerror: {error}"))
    return person


def test_a_coordinator_signs_in_with_a_code_and_sees_the_account_pages(
    browser: Any, live_server: LiveServer, people: list[Person]
) -> None:
    person = _context(browser, demo.COORDINATOR)
    people.append(person)
    page = person.page
    page.goto(live_server.url + "/login")
    page.fill("#email", demo.COORDINATOR)
    page.fill("#password", demo.DEMO_PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url("**/login/two-factor")
    page.fill("#code", totp.code_at(demo.DEMO_TOTP_SECRET, time.time()))
    page.click("form[action='/login/two-factor'] button[type=submit]")
    page.wait_for_url("**/dashboard")
    for path, selector in (
        ("/account", "a[href='/account/sessions']"),
        ("/account/sessions", "tr.session-row.current"),
        ("/account/two-factor", "#two-factor-title"),
    ):
        page.goto(live_server.url + path)
        page.wait_for_selector(selector)
    assert csp_reports(person) == []


def test_the_enrollment_page_shows_a_qr_code_under_the_policy(
    browser: Any, live_server: LiveServer, people: list[Person]
) -> None:
    person = watch(open_person(browser, live_server, demo.SPECIALIST_LA_RAZA))
    people.append(person)
    person.page.goto(live_server.url + "/account/two-factor")
    qr = person.page.wait_for_selector(".qr svg path")
    assert qr is not None and qr.bounding_box() is not None
    assert person.page.inner_text("#totp-secret").replace(" ", "").isalnum()
    assert csp_reports(person) == []


def test_markup_in_names_is_shown_not_run_on_the_admin_pages(
    browser: Any, live_server: LiveServer, people: list[Person]
) -> None:
    async def rename() -> str:
        async with live_server.app[SESSIONS]() as db:
            await db.execute(
                update(User).where(User.email == demo.TRAINEE).values(display_name=PAYLOAD)
            )
            await db.commit()
            user_id = await db.scalar(select(User.id).where(User.email == demo.TRAINEE))
            assert user_id is not None
            return user_id

    user_id = live_server.run(rename())
    admin = watch(open_person(browser, live_server, demo.ADMIN))
    people.append(admin)
    for path in ("/admin/users", f"/admin/users/{user_id}"):
        admin.page.goto(live_server.url + path)
        admin.page.wait_for_selector("main h1")
        assert admin.page.evaluate("window.__injected") is None
    admin.page.goto(live_server.url + "/admin/users")
    assert PAYLOAD in admin.page.inner_text("main")
    assert csp_reports(admin) == []


def test_the_shared_sign_in_helper_completes_the_code_step(
    browser: Any, live_server: LiveServer, people: list[Person]
) -> None:
    admin = sign_in(browser, live_server, demo.ADMIN)
    people.append(admin)
    assert admin.page.url.endswith("/dashboard")
