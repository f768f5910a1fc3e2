"""Audio and video reach both specialists, and survive an ICE restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.calls import (
    CONSULTATION,
    LARAZA,
    MERIDA,
    Person,
    assert_frames_flow,
    join,
    sign_in,
    wait_connected,
    wait_prejoin_ready,
    wait_until,
)
from tests.live import LiveServer

pytestmark = pytest.mark.browser

UFRAG_JS = r"/a=ice-ufrag:(\S+)/"


def enter_from_dashboard(person: Person) -> None:
    person.page.click(f'a[href="/rooms/{CONSULTATION}"]')
    person.page.wait_for_url(f"**/rooms/{CONSULTATION}")
    wait_prejoin_ready(person)


def test_two_specialists_sign_in_join_from_dashboard_and_see_each_other(
    browser: Any, call_server: LiveServer, people: list[Person], artifacts: Path
) -> None:
    a = sign_in(browser, call_server, LARAZA)
    b = sign_in(browser, call_server, MERIDA)
    people.extend([a, b])
    enter_from_dashboard(a)
    enter_from_dashboard(b)
    # The pre-join screen shows the camera before anyone joins.
    a.page.wait_for_function(
        "document.querySelector('#preview-video').videoWidth > 0", timeout=10_000
    )
    a.page.screenshot(path=str(artifacts / "call-prejoin.png"))
    join(a)
    join(b)
    wait_connected(a, b)

    assert_frames_flow(a, b.peer_id)
    assert_frames_flow(b, a.peer_id)
    # Each sees the other's name on their tile and in the participant list.
    b_tile = a.page.locator(f'[data-key="{b.peer_id}:camera"]')
    assert "Canul" in b_tile.inner_text()
    a.open_panel("people")
    assert a.person_row(b.peer_id).count() == 1
    a.page.locator("#btn-people").click()  # close again for the picture
    a.page.wait_for_timeout(300)
    a.page.screenshot(path=str(artifacts / "call-two-specialists.png"))


def test_ice_restart_changes_ufrag_and_media_keeps_flowing(pair: tuple[Person, Person]) -> None:
    a, b = pair
    b_id, a_id = b.peer_id, a.peer_id
    local_ufrag = f"(id) => window.junta.pcs.get(id).localDescription.sdp.match({UFRAG_JS})[1]"
    before = a.page.evaluate(local_ufrag, b_id)

    a.page.evaluate("(id) => window.junta.pcs.get(id).restartIce()", b_id)

    wait_until(
        lambda: a.page.evaluate(local_ufrag, b_id) != before,
        timeout=10,
        what="a new local ICE ufrag after restartIce()",
    )
    wait_connected(a, b, timeout=15)
    # The restart was negotiated: both sides agree on the new credentials.
    remote_on_b = b.page.evaluate(
        f"(id) => window.junta.pcs.get(id).remoteDescription.sdp.match({UFRAG_JS})[1]",
        a_id,
    )
    assert remote_on_b == a.page.evaluate(local_ufrag, b_id) != before
    assert_frames_flow(a, b_id)
    assert_frames_flow(b, a_id)
