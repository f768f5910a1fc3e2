"""Account and administration pages in Chromium, under the real Content-Security-Policy: the
two-step sign-in, the enrollment page with its QR code, and names with markup in them shown to
an administrator without running."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from casebook import demo
from casebook.models import User
from tests.browser.calls import (
    OpenPeople,
    Person,
    new_person,
    sign_in,
    submit_sign_in,
    submit_two_factor,
)
from tests.browser.test_csp import LISTENER, csp_reports
from tests.live import LiveServer
from web.app.keys import SESSIONS

pytestmark = pytest.mark.browser

PAYLOAD = '<img src=x onerror="window.__injected=1">'


def test_a_coordinator_signs_in_with_a_code_and_sees_the_account_pages(
    browser: Any, live_server: LiveServer, people: list[Person]
) -> None:
    person = new_person(browser, demo.COORDINATOR, media=False, init_script=LISTENER)
    people.append(person)
    page = person.page
    page.goto(live_server.url + "/login")
    submit_sign_in(page, demo.COORDINATOR)
    page.wait_for_url("**/login/two-factor")
    submit_two_factor(page)
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
    live_server: LiveServer, open_people: OpenPeople
) -> None:
    [person] = open_people(live_server, demo.SPECIALIST_LA_RAZA, init_script=LISTENER)
    person.page.goto(live_server.url + "/account/two-factor")
    qr = person.page.wait_for_selector(".qr svg path")
    assert qr is not None and qr.bounding_box() is not None
    assert person.page.inner_text("#totp-secret").replace(" ", "").isalnum()
    assert csp_reports(person) == []


def test_markup_in_names_is_shown_not_run_on_the_admin_pages(
    live_server: LiveServer, open_people: OpenPeople
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
    [admin] = open_people(live_server, demo.ADMIN, init_script=LISTENER)
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
