"""A page the server refuses more tracks (`too_many_tracks`) says so while it retries, and stops
saying it once its tracks get through (issue 20)."""

from __future__ import annotations

import pytest

from signaling import publish_limits
from tests.browser.calls import BOARD, COORDINATOR, OpenPeople, go_to_prejoin, join, wait_until
from tests.live import LiveServer

pytestmark = pytest.mark.browser

WAIT_MS = 60_000
PUBLISHES = "() => window.junta.sfu ? window.junta.sfu.publishes : 0"
LIMITED = "() => Boolean(window.junta.sfu && window.junta.sfu.publishLimited)"


def test_the_page_tells_of_the_publish_limit_while_it_retries_and_clears_it_when_through(
    call_server: LiveServer, open_people: OpenPeople, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A track back every 5 s instead of every minute, so the retries get through in the test.
    monkeypatch.setattr(publish_limits, "TRACK_REFILL_SECONDS", 5.0)
    [chair] = open_people(call_server, COORDINATOR)
    go_to_prejoin(chair, call_server, BOARD)  # a board goes through the SFU
    join(chair)
    page = chair.page
    wait_until(lambda: page.evaluate(PUBLISHES) >= 1, timeout=60, what="the first publish")
    notice = page.locator("#publish-limit")
    assert notice.is_hidden()

    # Each publish connection replaced costs its two tracks again (PROTOCOL.md): a page that
    # keeps replacing it empties the bucket of 16 and is refused.
    for _ in range(60):
        done = page.evaluate(PUBLISHES)
        page.evaluate("window.junta.sfu.restartLeg('publish')")
        wait_until(
            lambda done=done: page.evaluate(PUBLISHES) > done or page.evaluate(LIMITED),
            timeout=60,
            what="a publish, or its refusal",
        )
        if page.evaluate(LIMITED):
            break
    else:
        pytest.fail("the server never refused a publish for too many tracks")

    notice.wait_for(state="visible", timeout=WAIT_MS)
    assert notice.get_attribute("role") == "status"
    assert notice.inner_text().startswith("Llegó al límite de video y audio nuevos por ahora.")
    refused_at = page.evaluate(PUBLISHES)

    # The page retries by itself, backing off; once a track is back the publish goes through.
    notice.wait_for(state="hidden", timeout=WAIT_MS)
    assert page.evaluate(PUBLISHES) > refused_at
    assert not page.evaluate(LIMITED)
