"""The call page speaks Mexican Spanish unless the user chooses English."""

from __future__ import annotations

import pytest

from tests.browser.calls import CONSULTATION, LARAZA, OpenPeople, join, wait_prejoin_ready
from tests.live import LiveServer

pytestmark = pytest.mark.browser


def test_spanish_by_default_english_after_switching(
    call_server: LiveServer, open_people: OpenPeople
) -> None:
    # A browser that asks for a language Junta does not offer gets the default, es-MX.
    [person] = open_people(call_server, LARAZA, locale="de-DE")
    page = person.page
    page.goto(f"{call_server.url}/rooms/{CONSULTATION}")
    wait_prejoin_ready(person)
    assert page.locator("html").get_attribute("lang") == "es-MX"
    assert page.locator("#prejoin-mic").get_attribute("aria-label") == "Apagar micrófono"
    assert page.locator("#join-button").inner_text() == "Unirse ahora"
    join(person)
    assert page.locator("#btn-mic").get_attribute("aria-label") == "Silenciar"
    page.click("#btn-mic")
    assert page.locator("#btn-mic").get_attribute("aria-label") == "Activar micrófono"
    page.click("#btn-leave")
    page.wait_for_selector('#call[data-view="ended"]')

    # The header's language switch reloads the page in English.
    page.click(".lang-switch button[value=en]")
    page.wait_for_load_state()
    wait_prejoin_ready(person)
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#prejoin-mic").get_attribute("aria-label") == "Turn off microphone"
    assert page.locator("#join-button").inner_text() == "Join now"
    join(person)
    assert page.locator("#btn-mic").get_attribute("aria-label") == "Mute"
    assert page.locator("#btn-people").get_attribute("aria-label") == "Participants"
