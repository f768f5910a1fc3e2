"""What one specialist does in the call reaches the other within a second."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.calls import Person, assert_frames_flow, wait_until

pytestmark = pytest.mark.browser

# The bound for "the others see every state change".
PROPAGATION_S = 1.0
# How long the test waits for a change at all: a starved machine may be slow, which the
# measurement below then reports, rather than a timeout that hides by how much.
ARRIVAL_DEADLINE_S = 30.0


def propagation_s(a: Person, button: str, b: Person, shown: str) -> float:
    """Seconds from a click on `button` in A's page to `shown` matching in B's page.

    Both instants are taken inside the pages (one browser, one clock: `performance.timeOrigin +
    performance.now()`), by a capture listener in A and a MutationObserver in B, so the figure is
    the product's propagation, not Playwright's round trips, which take seconds of their own on a
    busy machine.
    """
    b.page.evaluate(
        """(selector) => {
          window.__shownAt = null;
          const now = () => performance.timeOrigin + performance.now();
          const observer = new MutationObserver(() => {
            if (!document.querySelector(selector)) return;
            window.__shownAt = now();
            observer.disconnect();
          });
          observer.observe(document.body, {subtree: true, childList: true, attributes: true});
        }""",
        shown,
    )
    a.page.evaluate(
        """(selector) => {
          window.__clickedAt = null;
          document.querySelector(selector).addEventListener('click', () => {
            window.__clickedAt = performance.timeOrigin + performance.now();
          }, {capture: true, once: true});
        }""",
        button,
    )
    a.page.click(button)
    b.page.wait_for_selector(shown, timeout=ARRIVAL_DEADLINE_S * 1000)
    shown_at = wait_until(
        lambda: b.page.evaluate("window.__shownAt"), timeout=5, what="B's observer to fire"
    )
    clicked_at = a.page.evaluate("window.__clickedAt")
    assert clicked_at is not None
    return float(shown_at - clicked_at) / 1000


def test_mute_chat_and_raised_hand_reach_the_other_side(
    pair: tuple[Person, Person], artifacts: Path
) -> None:
    a, b = pair
    a_id = a.peer_id
    b.open_panel("people")
    row = b.person_row(a_id)
    assert row.get_attribute("data-audio") == "on"

    # Mute: B's participant list and A's tile on B's screen show it within a second.
    muted = f'#people-list li[data-peer-id="{a_id}"][data-audio="off"]'
    assert propagation_s(a, "#btn-mic", b, muted) < PROPAGATION_S
    assert b.page.locator(f'[data-key="{a_id}:camera"]').get_attribute("data-audio") == "off"
    assert a.page.locator("#btn-mic").get_attribute("aria-pressed") == "true"
    assert a.page.evaluate("window.junta.state().local.audio") is False

    # Raise hand.
    raised = f'#people-list li[data-peer-id="{a_id}"][data-hand="up"]'
    assert propagation_s(a, "#btn-hand", b, raised) < PROPAGATION_S
    assert "hand-up" in (b.page.locator(f'[data-key="{a_id}:camera"]').get_attribute("class") or "")

    # Camera off: no renegotiation, the state says so and B shows the avatar.
    a.page.click("#btn-cam")
    b.page.wait_for_selector(
        f'#people-list li[data-peer-id="{a_id}"][data-video="off"]',
        timeout=ARRIVAL_DEADLINE_S * 1000,
    )

    # Chat, with text that would be markup if it were ever parsed as HTML.
    text = 'Revisemos la RM del 12/11 <b>hoy</b> & <img src=x onerror="window.pwned=1">'
    a.open_panel("chat")
    a.page.fill("#chat-input", text)
    a.page.keyboard.press("Enter")
    b.open_panel("chat")
    message = b.page.locator("#chat-log .chat-text").last
    message.wait_for(timeout=ARRIVAL_DEADLINE_S * 1000)
    assert message.inner_text() == text
    assert b.page.locator("#chat-log b, #chat-log img").count() == 0
    assert b.page.evaluate("window.pwned") is None
    b.page.screenshot(path=str(artifacts / "call-chat.png"))

    # Unmute and lower the hand: back again on B.
    a.page.click("#btn-mic")
    a.page.click("#btn-hand")
    b.open_panel("people")
    b.page.wait_for_selector(
        f'#people-list li[data-peer-id="{a_id}"][data-audio="on"][data-hand="down"]',
        timeout=ARRIVAL_DEADLINE_S * 1000,
    )


def test_screen_share_reaches_the_other_side_as_a_screen_tile(
    pair: tuple[Person, Person], artifacts: Path
) -> None:
    a, b = pair
    a_id = a.peer_id

    a.page.click("#btn-screen")
    a.page.wait_for_selector("#btn-screen[aria-pressed=true]", timeout=10_000)
    screen_stream = a.page.evaluate("window.junta.state().local.screen_stream")
    assert screen_stream

    b.page.wait_for_selector(f'[data-key="{a_id}:screen"]', timeout=15_000)
    assert (
        b.page.evaluate("(id) => window.junta.peers.get(id).state.screen_stream", a_id)
        == screen_stream
    )
    assert b.page.locator("#stage").get_attribute("data-layout") == "presentation"
    assert_frames_flow(b, a_id, "screen")
    # The camera keeps flowing beside the screen.
    assert_frames_flow(b, a_id, "camera")
    b.open_panel("people")
    b.page.screenshot(path=str(artifacts / "call-screen-share.png"))

    # Stopping from the browser's own "Stop sharing" control ends the track: the page notices.
    a.page.evaluate(
        """() => {
          const video = document.querySelector('[data-key="self:screen"] video');
          const track = video.srcObject.getVideoTracks()[0];
          track.stop();
          track.dispatchEvent(new Event('ended'));
        }"""
    )
    b.page.wait_for_selector(f'[data-key="{a_id}:screen"]', state="detached", timeout=5_000)
    assert b.page.evaluate("(id) => window.junta.peers.get(id).state.screen", a_id) is False
    assert a.page.locator("#btn-screen").get_attribute("aria-pressed") == "false"

    # Sharing again works on the same connection.
    a.page.click("#btn-screen")
    b.page.wait_for_selector(f'[data-key="{a_id}:screen"]', timeout=15_000)
    assert_frames_flow(b, a_id, "screen", frames=5)
    wait_until(
        lambda: b.page.locator("#stage").get_attribute("data-layout") == "presentation",
        timeout=2,
    )


def test_microphone_can_be_changed_during_the_call_without_renegotiating(
    pair: tuple[Person, Person],
) -> None:
    a, b = pair
    b_id = b.peer_id
    sent_label = (
        "(id) => window.junta.pcs.get(id).getSenders()"
        ".find((s) => s.track && s.track.kind === 'audio').track.label"
    )
    before = a.page.evaluate(sent_label, b_id)
    offers = "(id) => window.junta.pcs.get(id).localDescription.sdp.match(/^o=.* (\\d+) IN/m)[1]"
    version = a.page.evaluate(offers, b_id)

    a.page.click("#btn-settings")
    options = a.page.locator("#call-microphone option")
    assert options.count() >= 2
    other = next(
        options.nth(i).get_attribute("value")
        for i in range(options.count())
        if options.nth(i).inner_text() != before
    )
    a.page.select_option("#call-microphone", other)
    wait_until(lambda: a.page.evaluate(sent_label, b_id) != before, timeout=5, what="new mic")
    a.page.click("#settings-close")
    assert a.page.evaluate(offers, b_id) == version  # replaceTrack: no new offer
    assert a.page.locator("#btn-mic").get_attribute("aria-pressed") == "false"
