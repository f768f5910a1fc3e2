"""The pre-join screen explains missing or blocked devices, and one can still join."""

from __future__ import annotations

import pytest

from tests.browser.calls import (
    CONSULTATION,
    LARAZA,
    MERIDA,
    OpenPeople,
    assert_frames_flow,
    go_to_prejoin,
    join,
    wait_connected,
)
from tests.live import LiveServer

pytestmark = pytest.mark.browser

NO_CAMERA = """(() => {
  const devices = navigator.mediaDevices;
  const capture = devices.getUserMedia.bind(devices);
  const enumerate = devices.enumerateDevices.bind(devices);
  devices.getUserMedia = async (constraints) => {
    if (constraints && constraints.video) {
      throw new DOMException("Requested device not found", "NotFoundError");
    }
    return capture(constraints);
  };
  devices.enumerateDevices = async () =>
    (await enumerate()).filter((device) => device.kind !== "videoinput");
})();"""

BLOCKED = """(() => {
  navigator.mediaDevices.getUserMedia = async () => {
    throw new DOMException("Permission denied", "NotAllowedError");
  };
})();"""


def test_specialist_without_camera_joins_with_microphone_only(
    call_server: LiveServer, open_people: OpenPeople
) -> None:
    [a] = open_people(call_server, LARAZA)
    [b] = open_people(call_server, MERIDA, init_script=NO_CAMERA)
    go_to_prejoin(a, call_server, CONSULTATION)
    go_to_prejoin(b, call_server, CONSULTATION)

    messages = b.page.locator("#device-messages")
    assert messages.inner_text().strip() == "No se encontró ninguna cámara."
    assert b.page.locator("#preview-off").is_visible()
    assert b.page.locator("#select-camera").is_disabled()
    assert b.page.locator("#prejoin-mic").get_attribute("aria-pressed") == "false"  # mic on

    join(a)
    join(b)
    wait_connected(a, b)
    b_id = b.peer_id
    a.page.wait_for_selector(f'[data-key="{b_id}:camera"][data-video="off"]', timeout=5_000)
    a.open_panel("people")
    assert a.person_row(b_id).get_attribute("data-video") == "off"
    assert a.person_row(b_id).get_attribute("data-audio") == "on"
    # The one without a camera still sees and hears the other.
    assert_frames_flow(b, a.peer_id)


def test_blocked_camera_and_microphone_are_explained_and_joining_still_works(
    call_server: LiveServer, open_people: OpenPeople
) -> None:
    [person] = open_people(call_server, MERIDA, init_script=BLOCKED)
    go_to_prejoin(person, call_server, CONSULTATION)

    text = person.page.locator("#device-messages").inner_text()
    assert "El navegador bloqueó el micrófono." in text
    assert "El navegador bloqueó la cámara." in text
    assert "Permitir" in text
    assert person.page.locator("#prejoin-mic").is_disabled()
    join(person)
    assert person.state()["local"]["audio"] is False
    assert person.state()["local"]["video"] is False
