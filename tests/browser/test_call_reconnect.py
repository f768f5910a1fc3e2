"""A specialist whose signaling connection drops stays in the call, without reloading the page."""

from __future__ import annotations

import time

import pytest

from tests.browser.calls import Person, assert_frames_flow, wait_until
from tests.live import LiveServer
from web.app.factory import CALL_NAMESPACE

pytestmark = pytest.mark.browser

# Rejoining: socket.io's reconnection delay (at most 2.5 s) + a fresh token + the join ack.
REJOIN_S = 15.0


def room_events_about(person: Person, peer_id: str) -> list[dict[str, object]]:
    return [
        event
        for event in person.page.evaluate("window.junta.events")
        if event.get("peer_id") == peer_id and event["type"] in {"peer-left", "peer-joined"}
    ]


def assert_rejoined(a: Person, b: Person, a_id: str, joins: int) -> None:
    wait_until(
        lambda: a.state()["joinCount"] >= joins and a.state()["signaling"] == "joined",
        timeout=REJOIN_S,
        what=f"{a.email} to rejoin (join #{joins})",
    )
    # Same page (no reload), same peer.
    assert a.page.evaluate("window.__loadedMarker") == "still-here"
    assert a.peer_id == a_id
    wait_until(
        lambda: b.page.evaluate("(id) => window.junta.peers.get(id)?.connected === true", a_id),
        timeout=5,
        what=f"{b.email} to see {a.email} connected again",
    )
    # B never saw A leave or arrive again: the same participant throughout.
    assert room_events_about(b, a_id) == []


def test_page_rejoins_after_server_drop_and_after_network_loss(
    pair: tuple[Person, Person], call_server: LiveServer
) -> None:
    a, b = pair
    a_id, b_id = a.peer_id, b.peer_id
    a.page.evaluate("window.__loadedMarker = 'still-here'")
    assert a.state()["joinCount"] == 1

    # (a) The server drops A's socket ("io server disconnect"): the page reconnects by itself.
    assert call_server.run(call_server.app[CALL_NAMESPACE].drop_peer(a_id)) is True
    wait_until(
        lambda: (
            b.page.evaluate("(id) => window.junta.peers.get(id)?.connected === false", a_id)
            or a.state()["joinCount"] >= 2
        ),
        timeout=5,
        what="the drop to be noticed",
    )
    assert_rejoined(a, b, a_id, joins=2)
    assert_frames_flow(a, b_id)
    assert_frames_flow(b, a_id)

    # (b) A's network goes away for 5 s: the banner says so, media keeps flowing on loopback,
    # and A rejoins as the same peer once the network is back.
    a.context.set_offline(True)
    a.page.wait_for_selector("#call-banner:not([hidden])", timeout=10_000)
    wait_until(
        lambda: b.page.evaluate("(id) => window.junta.peers.get(id)?.connected === false", a_id),
        timeout=10,
        what=f"{b.email} to see {a.email} as reconnecting",
    )
    b.open_panel("people")
    assert b.person_row(a_id).get_attribute("data-connected") == "false"
    time.sleep(5)
    a.context.set_offline(False)
    assert_rejoined(a, b, a_id, joins=3)
    a.page.wait_for_selector("#call-banner", state="hidden", timeout=10_000)
    assert b.person_row(a_id).get_attribute("data-connected") == "true"
    assert_frames_flow(a, b_id)
    assert_frames_flow(b, a_id)
    assert room_events_about(b, a_id) == []
