"""A lecture: one Chromium presenter, twenty receive-only aiortc viewers that all decode it, and
a viewer who raises a hand, is let speak from the presenter's page (and then seen and heard
there), and is sent back to the audience.

The viewers are `SfuBot`s (real WebRTC peers speaking `/call`) on an event loop of their own in
a thread, with join tokens signed like the join API's for a lecture's viewers.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from media.remote import RemoteMediaNode
from signaling.grants import issue_grant, sign_grant
from tests.browser.calls import (
    CREATE_GUEST_LINK,
    OpenPeople,
    Person,
    enter,
    go_to_prejoin,
    join,
    new_person,
    wait_until,
)
from tests.browser.test_call_sfu import SFU_AUDIO_ENERGY
from tests.live import TEST_SECRET, LiveServer
from tests.services import free_port
from tests.signaling.conftest import Participant
from tests.signaling.sfu_bots import SfuBot
from web.app.factory import CALL_NAMESPACE
from web.calls.media_bridge import MediaBridge

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

T = TypeVar("T")
LECTURER = "ponente@junta.example"
LECTURE = "sesion-academica"
VIEWERS = 20
# Twenty Python decoders share the machine with Chromium and the media node: the presenter's
# camera is asked for a small picture (the forwarding does not depend on its size).
SMALL_CAMERA = """(() => {
  const devices = navigator.mediaDevices;
  const original = devices.getUserMedia.bind(devices);
  devices.getUserMedia = (constraints) => {
    if (!constraints || !constraints.video) return original(constraints);
    const video = typeof constraints.video === "object" ? constraints.video : {};
    const small = { width: { ideal: 320 }, height: { ideal: 240 }, frameRate: { max: 15 } };
    return original({ ...constraints, video: { ...video, ...small } });
  };
})();"""


class BotLoop:
    """An asyncio loop in a thread for the bots, so the (sync) browser test can drive them."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.run(self._cancel_all(), timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    @staticmethod
    async def _cancel_all() -> None:
        # aiortc leaves RTCP tasks behind closed connections; end them before the loop stops.
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture
def bot_loop() -> Iterator[BotLoop]:
    loop = BotLoop()
    yield loop
    loop.stop()


def viewer_token(number: int) -> str:
    """What the join API gives a lecture's viewer: receive only."""
    grant = issue_grant(
        user_id=f"bot-viewer-{number}", name=f"Asistente {number}", room=LECTURE,
        role="trainee", now=time.time(), publish=False, room_kind="lecture",
    )
    return sign_grant(grant, TEST_SECRET)


async def start_viewers(url: str, count: int) -> list[SfuBot]:
    bots = []
    for number in range(count):
        page = Participant(url, f"bot-viewer-{number}", LECTURE)
        await page.connect()
        bot = SfuBot(page)
        bot.start()
        ack = await page.join(token=viewer_token(number))
        assert ack["ok"] and ack["status"] == "joined" and ack["self"]["audience"], ack
        bots.append(bot)
    return bots


async def all_decode(bots: list[SfuBot], presenter: str, frames: int, within: float) -> None:
    """Every bot decodes the presenter's audio and video, and keeps decoding video."""
    await asyncio.gather(*(bot.wait_for_media(presenter, within=within) for bot in bots))
    before = [bot.video_from(presenter).frames for bot in bots]  # type: ignore[union-attr]
    deadline = time.monotonic() + within
    while True:
        now = [bot.video_from(presenter).frames for bot in bots]  # type: ignore[union-attr]
        if all(n >= b + frames for n, b in zip(now, before, strict=True)):
            return
        assert time.monotonic() < deadline, f"frames before {before}, now {now}"
        await asyncio.sleep(0.2)


async def close_bots(bots: list[SfuBot]) -> None:
    for bot in bots:
        await bot.close()
        if bot.page.client.connected:
            await bot.page.client.disconnect()


def audience_item(presenter: Person, peer_id: str, kind: str) -> Any:
    return presenter.page.locator(
        f'#audience-list li[data-peer-id="{peer_id}"][data-lecture="{kind}"]')


def test_a_lecture_reaches_twenty_viewers_and_a_promoted_viewer_is_seen_and_heard(
    call_server: LiveServer, open_people: OpenPeople, bot_loop: BotLoop
) -> None:
    [presenter] = open_people(call_server, LECTURER, init_script=SMALL_CAMERA)
    enter([presenter], call_server, LECTURE)
    wait_until(lambda: presenter.mode() == "sfu", timeout=15, what="the lecture on the SFU")
    presenter_id = presenter.peer_id

    started = time.monotonic()
    bots = bot_loop.run(start_viewers(call_server.url, VIEWERS), timeout=120)
    try:
        bot_loop.run(all_decode(bots, presenter_id, frames=20, within=90), timeout=120)
        print(f"{VIEWERS} viewers decode the presenter's audio and video "
              f"{time.monotonic() - started:.1f}s after the first one joined")
        # The presenter's page counts the audience; nobody's page lists the viewers.
        presenter.page.wait_for_selector(f'#audience-pill[data-viewers="{VIEWERS}"]',
                                         timeout=10_000)
        assert len(presenter.state()["peers"]) == 1

        # A viewer raises a hand: the presenter sees it first in the audience and lets it speak.
        speaker = bots[7]
        assert bot_loop.run(speaker.page.call("state", {"hand": True}))["ok"]
        presenter.open_panel("people")
        first = presenter.page.locator("#audience-list li[data-lecture='viewer']").first
        wait_until(lambda: first.get_attribute("data-peer-id") == speaker.peer_id
                   and first.get_attribute("data-hand") == "up", timeout=10,
                   what="the raised hand first in the audience list")
        first.locator("button").click()
        notice = bot_loop.run(speaker.page.next("moderated", within=10))
        assert notice == {"action": "promote", "target": speaker.peer_id, "by": presenter_id}
        ack = bot_loop.run(speaker.publish())
        assert ack["ok"], ack

        # Seen and heard on the presenter's page, in its own tile.
        key = f"{speaker.peer_id}:camera"
        wait_until(lambda: presenter.sfu_frames().get(key, 0) >= 15, timeout=30,
                   what="the presenter decoding the promoted viewer's video")
        presenter.page.wait_for_selector(f'[data-key="{key}"] video', timeout=10_000)
        energy = wait_until(
            lambda: (e := presenter.page.evaluate(SFU_AUDIO_ENERGY, speaker.peer_id)) > 0 and e,
            timeout=20, what="the promoted viewer's audio at the presenter")
        wait_until(lambda: presenter.page.evaluate(SFU_AUDIO_ENERGY, speaker.peer_id) > energy,
                   timeout=10, what="more of the promoted viewer's audio")

        # Back to the audience: its tile goes and it may no longer publish.
        audience_item(presenter, speaker.peer_id, "speaker").locator("button").click()
        notice = bot_loop.run(speaker.page.next("moderated", within=10))
        assert notice["action"] == "demote"
        presenter.page.wait_for_selector(f'[data-key="{key}"]', state="detached",
                                         timeout=10_000)
        refused = bot_loop.run(speaker.publish())
        assert refused["error"]["code"] == "forbidden"
    finally:
        bot_loop.run(close_bots(bots), timeout=60)


def test_a_guest_lecturer_opens_the_link_waits_and_is_admitted_on_stage(
    browser: Any, call_server: LiveServer, people: list[Person], open_people: OpenPeople
) -> None:
    [presenter] = open_people(call_server, LECTURER)
    enter([presenter], call_server, LECTURE)
    created = presenter.page.evaluate(CREATE_GUEST_LINK, LECTURE)
    assert created["status"] == 201, created
    link = created["body"]["url"]
    assert link.startswith(call_server.url + "/guest/")

    # Someone without an account: no session cookie, only the link.
    guest = new_person(browser, "invitado")
    people.append(guest)
    guest.page.goto(link)
    assert "Sesión académica" in guest.page.locator("h1").inner_text()
    guest.page.fill("#guest-name", "Dra. Invitada Externa")
    guest.page.click("#guest-continue")
    guest.page.wait_for_selector("#join-button:not([disabled])", timeout=15_000)
    assert "Dra. Invitada Externa" in guest.page.locator(".prejoin-who").inner_text()
    join(guest, expect="waiting")
    guest_id = guest.peer_id

    presenter.page.wait_for_selector("#people-badge:not([hidden])", timeout=10_000)
    presenter.open_panel("people")
    entry = presenter.page.locator(f'#waiting-list li[data-peer-id="{guest_id}"]')
    entry.get_by_role("button", name="Admitir a Dra. Invitada Externa").click()
    guest.page.wait_for_selector('#call[data-view="incall"]', timeout=10_000)
    # A guest lecturer is on stage: the presenter lists, sees and decodes them.
    presenter.page.wait_for_selector(f'#people-list li[data-peer-id="{guest_id}"]',
                                     timeout=10_000)
    wait_until(lambda: presenter.sfu_frames().get(f"{guest_id}:camera", 0) >= 10, timeout=30,
               what="the presenter decoding the guest lecturer's video")


TRAINEE = "residente@junta.example"


def test_a_viewer_page_raises_a_hand_publishes_when_promoted_and_stops_when_demoted(
    call_server: LiveServer, open_people: OpenPeople
) -> None:
    presenter, viewer = open_people(call_server, LECTURER, TRAINEE, init_script=SMALL_CAMERA)
    enter([presenter, viewer], call_server, LECTURE)
    viewer_id = viewer.peer_id
    # Receive only: the viewer decodes the presenter, has no publish connection and no
    # microphone or camera buttons.
    wait_until(lambda: viewer.sfu_frames().get(f"{presenter.peer_id}:camera", 0) >= 10,
               timeout=30, what="the viewer decoding the presenter")
    assert viewer.state()["sfu"]["publish"] == "none"
    assert not viewer.page.locator("#btn-mic").is_visible()
    # Nobody sees a viewer's camera, so the page releases it (its light goes off).
    wait_until(lambda: viewer.page.evaluate("window.junta.state().local.video") is False,
               timeout=5, what="the viewer's camera released")
    viewer.page.wait_for_selector('#audience-pill[data-viewers="1"]', timeout=5_000)

    viewer.page.click("#btn-hand")
    presenter.page.wait_for_selector('#audience-pill[data-hands="1"]', timeout=10_000)
    presenter.open_panel("people")
    item = audience_item(presenter, viewer_id, "viewer")
    item.wait_for(timeout=10_000)
    item.locator("button").click()

    # Promoted: it publishes camera and microphone, and the presenter decodes them.
    wait_until(lambda: presenter.sfu_frames().get(f"{viewer_id}:camera", 0) >= 10, timeout=30,
               what="the presenter decoding the promoted viewer")
    wait_until(lambda: presenter.page.evaluate(SFU_AUDIO_ENERGY, viewer_id) > 0, timeout=20,
               what="the promoted viewer's audio at the presenter")
    assert viewer.page.locator("#btn-mic").is_visible()

    audience_item(presenter, viewer_id, "speaker").locator("button").click()
    wait_until(lambda: viewer.state()["sfu"]["publish"] == "none", timeout=10,
               what="the demoted viewer closing its publish connection")
    wait_until(lambda: viewer.page.evaluate("window.junta.state().local.video") is False,
               timeout=5, what="the demoted viewer's camera released again")
    presenter.page.wait_for_selector(f'[data-key="{viewer_id}:camera"]', state="detached",
                                     timeout=10_000)
    assert not viewer.page.locator("#btn-mic").is_visible()


def test_the_page_says_when_the_media_server_cannot_be_reached_and_joins_once_it_can(
    call_server: LiveServer, open_people: OpenPeople
) -> None:
    namespace = call_server.app[CALL_NAMESPACE]
    working = namespace.sfu.media
    # The media node as a process that is down: nothing listens on its port.
    down = RemoteMediaNode(f"http://127.0.0.1:{free_port()}", "media-secret", timeout=2)
    namespace.sfu.media = MediaBridge(lambda _: down)
    [presenter] = open_people(call_server, LECTURER)
    go_to_prejoin(presenter, call_server, LECTURE)
    presenter.page.click("#join-button")
    banner = presenter.page.locator("#call-banner")
    banner.wait_for(state="visible", timeout=15_000)
    assert "No es posible conectar con el servidor de medios" in banner.inner_text()
    assert presenter.page.locator("#call").get_attribute("data-view") == "prejoin"

    namespace.sfu.media = working  # the node is back: the page's next attempt gets in
    presenter.page.wait_for_selector('#call[data-view="incall"]', timeout=20_000)
    banner.wait_for(state="hidden", timeout=5_000)
    assert presenter.mode() == "sfu"
    call_server.run(down.close())
