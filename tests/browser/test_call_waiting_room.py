"""A participant of a tumor board waits until the coordinator admits them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.calls import (
    OpenPeople,
    assert_frames_flow,
    chair_and_waiting_guest,
    wait_connected,
)
from tests.live import LiveServer

pytestmark = pytest.mark.browser


def test_coordinator_admits_a_waiting_specialist_then_moderates_them(
    call_server: LiveServer, open_people: OpenPeople, artifacts: Path
) -> None:
    coordinator, guest = chair_and_waiting_guest(open_people, call_server)
    guest_id = guest.peer_id
    assert guest.page.locator("#waiting").is_visible()

    # The coordinator is told (badge on "participants") and sees the guest in the waiting list.
    coordinator.page.wait_for_selector("#people-badge:not([hidden])", timeout=5_000)
    coordinator.open_panel("people")
    entry = coordinator.page.locator(f'#waiting-list li[data-peer-id="{guest_id}"]')
    entry.wait_for(timeout=5_000)
    assert "Canul" in entry.inner_text()
    coordinator.page.screenshot(path=str(artifacts / "call-waiting-list.png"))
    # Nobody is connected to a waiting peer.
    assert coordinator.page.evaluate("(id) => window.junta.pcs.has(id)", guest_id) is False

    # Said before the guest is admitted: the guest gets it as history on entering.
    coordinator.open_panel("chat")
    coordinator.page.fill("#chat-input", "Iniciamos con el caso 1: meduloblastoma")
    coordinator.page.click("#chat-send")
    coordinator.page.wait_for_selector("#chat-log .chat-message")
    coordinator.open_panel("people")

    entry.get_by_role("button", name="Admitir a Dra. Leticia Canul Pech").click()

    guest.page.wait_for_selector('#call[data-view="incall"]', timeout=10_000)
    coordinator.page.wait_for_selector(f'#people-list li[data-peer-id="{guest_id}"]', timeout=5_000)
    assert coordinator.page.locator("#waiting-list li").count() == 0
    guest.open_panel("chat")
    assert guest.page.locator("#chat-log .chat-text").all_inner_texts() == [
        "Iniciamos con el caso 1: meduloblastoma"
    ]
    wait_connected(coordinator, guest)
    assert_frames_flow(coordinator, guest_id)
    assert_frames_flow(guest, coordinator.peer_id)

    # The coordinator moderates from the participant list: lower hand, mute, remove.
    guest.page.click("#btn-hand")
    name = "Dra. Leticia Canul Pech"
    row = coordinator.person_row(guest_id)
    row.get_by_role("button", name=f"Bajar la mano de {name}").click()
    guest.page.wait_for_selector("#btn-hand[aria-pressed=false]", timeout=2_000)
    assert guest.state()["local"]["hand"] is False

    row.get_by_role("button", name=f"Silenciar a {name}").click()
    guest.page.wait_for_selector("#btn-mic[aria-pressed=true]", timeout=2_000)
    coordinator.page.wait_for_selector(
        f'#people-list li[data-peer-id="{guest_id}"][data-audio="off"]', timeout=2_000
    )

    row.get_by_role("button", name=f"Retirar a {name} de la llamada").click()
    coordinator.page.locator("#confirm-ok").click()
    guest.page.wait_for_selector('#call[data-view="ended"]', timeout=5_000)
    assert "retiró" in guest.page.locator("#ended-text").inner_text()
    coordinator.page.wait_for_selector(
        f'#people-list li[data-peer-id="{guest_id}"]', state="detached", timeout=5_000
    )
    assert coordinator.page.evaluate("(id) => window.junta.pcs.has(id)", guest_id) is False


def test_refused_specialist_is_told_and_does_not_come_back(
    call_server: LiveServer, open_people: OpenPeople
) -> None:
    coordinator, guest = chair_and_waiting_guest(open_people, call_server)
    guest_id = guest.peer_id

    coordinator.open_panel("people")
    entry = coordinator.page.locator(f'#waiting-list li[data-peer-id="{guest_id}"]')
    entry.get_by_role("button", name="Rechazar a Dra. Leticia Canul Pech").click()

    guest.page.wait_for_selector('#call[data-view="ended"]', timeout=5_000)
    assert "no le admitió" in guest.page.locator("#ended-text").inner_text()
    entry.wait_for(state="detached", timeout=5_000)
    # The refused page stays out: no reconnection attempts.
    guest.page.wait_for_timeout(1_500)
    assert guest.state()["signaling"] == "closed"
    assert coordinator.page.locator("#waiting-list li").count() == 0
