"""Driving the call page from Playwright (sync API): people, their pages, and what they see.

Everything here reads the page as a user would (labels, lists, tiles) or through the page's
read-only debug handle `window.junta` (peer connections, for getStats()).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from casebook import totp
from casebook.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET
from tests.live import LiveServer

LARAZA = "especialista.laraza@junta.example"
MERIDA = "especialista.merida@junta.example"
COORDINATOR = "coordinacion@junta.example"
CONSULTATION = "interconsulta-lla"
BOARD = "junta-tumores-sn"

# Decoded video frames of the tile `[data-key="<peer>:<kind>"]`, from the inbound-rtp stats of the
# RTCPeerConnection carrying that peer's media (P2P, or the SFU subscription: `junta.mediaPc`)
# whose track is the one the tile shows; -1 when there is none.
FRAMES_DECODED = """async ([remote, kind]) => {
  const pc = window.junta.mediaPc(remote);
  const video = document.querySelector(`[data-key="${remote}:${kind}"] video`);
  const track = video && video.srcObject && video.srcObject.getVideoTracks()[0];
  if (!pc || !track) return -1;
  for (const s of (await pc.getStats()).values()) {
    if (s.type === "inbound-rtp" && s.kind === "video" && s.trackIdentifier === track.id) {
      return s.framesDecoded || 0;
    }
  }
  return -1;
}"""

# SFU mode: video frames decoded on the subscription, per remote peer and source, summed over the
# inbound-rtp streams whose `mid` the subscription's `tracks` map to that peer.
SFU_FRAMES = """async () => {
  const sfu = window.junta.sfu;
  const pc = sfu && sfu.subscribePc;
  const out = {};
  if (!pc) return out;
  for (const s of (await pc.getStats()).values()) {
    if (s.type !== "inbound-rtp" || s.kind !== "video") continue;
    const info = sfu.tracksByMid[s.mid];
    if (!info) continue;
    const key = `${info.peer_id}:${info.source}`;
    out[key] = (out[key] || 0) + (s.framesDecoded || 0);
  }
  return out;
}"""

VIDEO_WIDTH = """([remote, kind]) => {
  const video = document.querySelector(`[data-key="${remote}:${kind}"] video`);
  return video ? video.videoWidth : 0;
}"""


@dataclass
class Person:
    """One user in their own browser context, on one page."""

    email: str
    context: Any
    page: Any
    console: list[str] = field(default_factory=list)

    @property
    def peer_id(self) -> str:
        return str(self.page.evaluate("window.junta.peerId"))

    def state(self) -> dict[str, Any]:
        return dict(self.page.evaluate("window.junta.state()"))

    def frames_decoded(self, remote: str, kind: str = "camera") -> int:
        return int(self.page.evaluate(FRAMES_DECODED, [remote, kind]))

    def sfu_frames(self) -> dict[str, int]:
        """Frames decoded through the SFU subscription, by "<peer_id>:<camera|screen>"."""
        return dict(self.page.evaluate(SFU_FRAMES))

    def mode(self) -> str:
        return str(self.page.evaluate("window.junta.mode || 'p2p'"))

    def video_width(self, remote: str, kind: str = "camera") -> int:
        return int(self.page.evaluate(VIDEO_WIDTH, [remote, kind]))

    def person_row(self, peer_id: str) -> Any:
        return self.page.locator(f'#people-list li[data-peer-id="{peer_id}"]')

    def open_panel(self, which: str) -> None:
        """Open the participants ("people") or chat panel if it is not open yet."""
        button = self.page.locator(f"#btn-{which}")
        if button.get_attribute("aria-pressed") != "true":
            button.click()

    def debug(self) -> str:
        try:
            state = self.state()
        except Exception as error:  # the page may be gone
            state = {"error": str(error)}
        return f"{self.email}: state={state}\nconsole tail:\n" + "\n".join(self.console[-25:])


class OpenPeople(Protocol):
    """The `open_people` fixture: Persons signed in on `server`, closed after the test."""

    def __call__(
        self, server: LiveServer, *emails: str, locale: str = ..., init_script: str | None = ...
    ) -> list[Person]: ...


def new_person(
    browser: Any, email: str, *, locale: str = "es-MX", media: bool = True,
    cookies: Sequence[dict[str, Any]] = (), init_script: str | None = None,
    bypass_csp: bool = False,
) -> Person:
    """A new browser context and page for `email` (not signed in unless `cookies` say so), its
    console kept for the report of a failed test; `media` grants camera and microphone;
    `bypass_csp` lets a test add its own scripts (axe-core), never the app."""
    context = browser.new_context(
        locale=locale, viewport={"width": 1280, "height": 800},
        permissions=["camera", "microphone"] if media else [], bypass_csp=bypass_csp,
    )
    if cookies:
        context.add_cookies(list(cookies))
    if init_script is not None:
        context.add_init_script(init_script)
    page = context.new_page()
    person = Person(email, context, page)
    page.on("console", lambda message: person.console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: person.console.append(f"pageerror: {error}"))
    return person


def open_person(
    browser: Any, server: LiveServer, email: str, *, locale: str = "es-MX",
    init_script: str | None = None,
) -> Person:
    """A new browser context signed in as `email` (session cookie; no form)."""
    return new_person(
        browser, email, locale=locale, cookies=[server.session_cookie(email)],
        init_script=init_script,
    )


def submit_sign_in(page: Any, email: str) -> None:
    """Fill in and send the sign-in form on the page showing it (the demo password)."""
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.click("form[action='/login'] button[type=submit]")


def submit_two_factor(page: Any) -> None:
    """Send the code step of the sign-in with the demo's documented TOTP secret (README)."""
    page.fill("#code", totp.code_at(DEMO_TOTP_SECRET, time.time()))
    page.click("form[action='/login/two-factor'] button[type=submit]")


def sign_in(browser: Any, server: LiveServer, email: str, *, locale: str = "es-MX") -> Person:
    """A new browser context that signs in through the form and lands on the dashboard."""
    person = new_person(browser, email, locale=locale)
    page = person.page
    page.goto(server.url + "/login")
    submit_sign_in(page, email)
    page.wait_for_url(re.compile(r".*/(dashboard|login/two-factor)$"))
    if page.url.endswith("/login/two-factor"):  # admins and coordinators
        submit_two_factor(page)
        page.wait_for_url("**/dashboard")
    return person


def go_to_prejoin(person: Person, server: LiveServer, room: str) -> None:
    person.page.goto(f"{server.url}/rooms/{room}")
    wait_prejoin_ready(person)


def wait_prejoin_ready(person: Person) -> None:
    """The pre-join screen has opened camera and microphone and offers to join."""
    person.page.wait_for_selector("#join-button:not([disabled])", timeout=15_000)


def join(person: Person, *, expect: str = "incall") -> None:
    """Click "join" on the pre-join screen and wait for the call (or the waiting room)."""
    person.page.click("#join-button")
    person.page.wait_for_selector(f'#call[data-view="{expect}"]', timeout=15_000)


def enter(persons: Sequence[Person], server: LiveServer, room: str) -> None:
    """Everyone to the pre-join screen of `room`, then everyone joins, in order, into the call."""
    for person in persons:
        go_to_prejoin(person, server, room)
    for person in persons:
        join(person)


def chair_and_waiting_guest(open_people: OpenPeople, server: LiveServer) -> tuple[Person, Person]:
    """The tumor board's chair (the coordinator) in the call, and Mérida's specialist in its
    waiting room."""
    chair, guest = open_people(server, COORDINATOR, MERIDA)
    go_to_prejoin(chair, server, BOARD)
    join(chair)
    go_to_prejoin(guest, server, BOARD)
    join(guest, expect="waiting")
    return chair, guest


# In a moderator's page: a guest invite link for `room`, through the API ({status, body}).
CREATE_GUEST_LINK = """async (room) => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const reply = await fetch(`/api/rooms/${room}/guest-links`, {
    method: "POST",
    headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" },
    body: JSON.stringify({ expires_in_minutes: 30 }),
  });
  return { status: reply.status, body: await reply.json() };
}"""


def guest_waits(browser: Any, people: list[Person], link: str, name: str) -> Person:
    """Someone without an account opens the guest `link`, types `name` and joins: they wait to
    be admitted (`people` closes their page after the test)."""
    guest = new_person(browser, "invitado")
    people.append(guest)
    guest.page.goto(link)
    guest.page.fill("#guest-name", name)
    guest.page.click("#guest-continue")
    wait_prejoin_ready(guest)
    join(guest, expect="waiting")
    return guest


def admit(moderator: Person, guest: Person, name: str) -> None:
    """The moderator admits the waiting `guest` (shown as `name`) from the people panel."""
    moderator.page.wait_for_selector("#people-badge:not([hidden])", timeout=30_000)
    moderator.open_panel("people")
    entry = moderator.page.locator(f'#waiting-list li[data-peer-id="{guest.peer_id}"]')
    entry.get_by_role("button", name=f"Admitir a {name}").click()
    guest.page.wait_for_selector('#call[data-view="incall"]', timeout=30_000)


def admit_waiting_guest(chair: Person, guest: Person) -> None:
    """The chair admits the guest of `chair_and_waiting_guest` from the participants panel."""
    admit(chair, guest, "Dra. Leticia Canul Pech")


def wait_until(
    condition: Callable[[], Any], *, timeout: float, interval: float = 0.1, what: str = ""
) -> Any:
    """Poll `condition` until it returns something truthy; AssertionError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what or condition}")
        time.sleep(interval)


def wait_connected(a: Person, b: Person, timeout: float = 20.0) -> None:
    """Both pages have a connected RTCPeerConnection carrying each other's media (P2P or SFU)."""
    a_id, b_id = a.peer_id, b.peer_id
    for me, other in ((a, b_id), (b, a_id)):
        me.page.wait_for_function(
            "(other) => { const pc = window.junta.mediaPc(other);"
            " return pc && pc.connectionState === 'connected'; }",
            arg=other,
            timeout=timeout * 1000,
        )


def assert_frames_flow(
    viewer: Person, remote: str, kind: str = "camera", *, frames: int = 15, timeout: float = 20.0
) -> None:
    """`viewer` decodes at least `frames` more frames of `remote`'s `kind` tile, which has size."""
    start = wait_until(
        lambda: (n := viewer.frames_decoded(remote, kind)) >= 0 and (n,),
        timeout=timeout,
        what=f"{viewer.email} to receive {kind} video of {remote}",
    )[0]
    wait_until(
        lambda: viewer.frames_decoded(remote, kind) >= start + frames,
        timeout=timeout,
        what=f"{viewer.email} to decode {frames} more {kind} frames of {remote}",
    )
    wait_until(
        lambda: viewer.video_width(remote, kind) > 0,
        timeout=timeout,
        what=f"{viewer.email}'s {kind} <video> of {remote} to have a size",
    )
