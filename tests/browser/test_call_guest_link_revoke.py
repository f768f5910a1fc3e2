"""A moderator makes and revokes guest invite links from the call page's people panel; a revoked
link no longer lets anyone in (issue 20)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.calls import BOARD, COORDINATOR, OpenPeople, Person, enter, new_person
from tests.live import LiveServer

pytestmark = pytest.mark.browser

WAIT_MS = 60_000


def test_the_moderator_revokes_a_guest_link_from_the_call_and_it_admits_nobody(
    browser: Any, call_server: LiveServer, people: list[Person], open_people: OpenPeople
) -> None:
    [chair] = open_people(call_server, COORDINATOR)  # moderates the demo board
    enter([chair], call_server, BOARD)
    page = chair.page
    chair.open_panel("people")
    page.wait_for_selector("#guest-links .guest-link-empty", timeout=WAIT_MS)
    for _ in range(2):
        page.get_by_role("button", name="Crear enlace de invitado").click()
    page.wait_for_selector("#guest-links li.guest-link >> nth=1", timeout=WAIT_MS)
    first = page.get_by_role("textbox", name="Enlace de invitado 1").input_value()
    second = page.get_by_role("textbox", name="Enlace de invitado 2").input_value()
    assert first.startswith(call_server.url + "/guest/") and first != second

    # Before: the link opens the guest's name form.
    guest = new_person(browser, "invitado")
    people.append(guest)
    guest.page.goto(first)
    assert guest.page.locator("#guest-name").count() == 1

    page.get_by_role("button", name="Revocar Enlace de invitado 1").click()
    page.wait_for_selector("#guest-links li.guest-link >> nth=1", state="detached",
                           timeout=WAIT_MS)
    # The other link stays, and so does the list after a reload of the call page.
    assert page.get_by_role("textbox", name="Enlace de invitado 1").input_value() == second
    guest.page.goto(first)
    assert guest.page.locator("h1").inner_text() == "Esta invitación no es válida"
    assert guest.page.locator("#guest-name").count() == 0
    guest.page.goto(second)
    assert guest.page.locator("#guest-name").count() == 1

    page.reload()
    enter([chair], call_server, BOARD)
    chair.open_panel("people")
    page.wait_for_selector("#guest-links li.guest-link", timeout=WAIT_MS)
    assert page.locator("#guest-links li.guest-link").count() == 1
    assert page.get_by_role("textbox", name="Enlace de invitado 1").input_value() == second
