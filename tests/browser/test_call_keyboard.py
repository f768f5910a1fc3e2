"""The call page from the keyboard alone (issue 26, WCAG 2.1.1 and 2.4.3): after each action
focus is somewhere that makes sense, never lost to the top of the page; Escape closes the side
panel; the shortcuts (listed in their dialog) act, but not while typing."""

from __future__ import annotations

import pytest

from tests.browser.call_keys import focused, press
from tests.browser.calls import CONSULTATION, LARAZA, OpenPeople, go_to_prejoin, wait_until
from tests.live import LiveServer

pytestmark = pytest.mark.browser


def test_focus_follows_every_call_action_from_the_keyboard(
    call_server: LiveServer, open_people: OpenPeople
) -> None:
    [person] = open_people(call_server, LARAZA)
    page = person.page

    def focus_is(element_id: str) -> None:
        wait_until(lambda: focused(page) == element_id, timeout=10, what=f"focus on #{element_id}")

    go_to_prejoin(person, call_server, CONSULTATION)
    focus_is("join-button")
    page.keyboard.press("Enter")  # "Unirse ahora" goes away with the pre-join screen
    page.wait_for_selector('#call[data-view="incall"]', timeout=15_000)
    focus_is("incall-title")
    page.keyboard.press("Tab")
    focus_is("btn-shortcuts")

    # The camera button stays focused while the camera switches, and is named by its words.
    press(page, "#btn-cam", " ")
    wait_until(
        lambda: page.get_attribute("#btn-cam", "aria-label") == "Iniciar video",
        timeout=10, what="the camera to stop",
    )
    page.wait_for_selector("#btn-cam:not([aria-disabled])")
    focus_is("btn-cam")

    # M mutes; typed into the chat it is only a letter.
    page.keyboard.press("m")
    wait_until(lambda: person.state()["local"]["audio"] is False, timeout=10, what="mute by M")
    press(page, "#btn-chat")
    focus_is("chat-input")
    page.keyboard.type("m")
    assert page.input_value("#chat-input") == "m"
    assert person.state()["local"]["audio"] is False

    # Closing the chat with its close button gives focus back to the Chat button.
    press(page, "#panel-close")
    page.wait_for_selector("#panel", state="hidden")
    focus_is("btn-chat")

    # Escape closes the side panel, from inside it too.
    page.keyboard.press("p")
    page.wait_for_selector("#people-section:not([hidden])")
    page.keyboard.press("Escape")
    page.wait_for_selector("#panel", state="hidden")
    press(page, "#btn-chat")
    focus_is("chat-input")
    page.keyboard.press("Escape")
    page.wait_for_selector("#panel", state="hidden")
    focus_is("btn-chat")

    # "?" lists the shortcuts in a dialog; Escape closes it and focus comes back.
    page.keyboard.press("?")
    page.wait_for_selector("#shortcuts-dialog[open]")
    assert "Silenciar o activar su micrófono" in page.inner_text("#shortcuts-dialog")
    page.keyboard.press("Escape")
    page.wait_for_selector("#shortcuts-dialog:not([open])", state="attached")
    focus_is("btn-chat")

    # Leaving: the "left" screen's heading has focus.
    press(page, "#btn-leave", " ")
    page.wait_for_selector('#call[data-view="ended"]', timeout=15_000)
    focus_is("ended-title")
