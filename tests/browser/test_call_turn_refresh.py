"""The call page keeps its TURN credentials fresh for as long as it is in the call (issue 20.2):
they come with admission and expire after a while, and every connection opened or restarted
later needs live ones to get a relay. The TURN lifetime here is a few seconds, so the page
renews them many times within one test; the TURN server itself is never reached (the pages
connect over loopback), only the credentials the page holds are checked."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.calls import (
    BOARD,
    CONSULTATION,
    COORDINATOR,
    LARAZA,
    MERIDA,
    Person,
    admit_waiting_guest,
    assert_frames_flow,
    go_to_prejoin,
    join,
    open_person,
    wait_connected,
    wait_until,
)
from tests.live import LiveServer

pytestmark = pytest.mark.browser

TURN_URL = "turn:127.0.0.1:3478?transport=udp"
TURN_TTL = 6  # seconds; the page asks again a quarter of that before they expire

# The TURN entry's username on one connection ("<expiry>:<user>"), or null.
PC_TURN_USERNAME = """(pc) => {
  const turn = (pc.getConfiguration().iceServers || []).find((s) => s.username);
  return turn ? turn.username : null;
}"""


@pytest.fixture
def turn_server(tmp_path: Path, demo_templates: Any) -> Iterator[LiveServer]:
    """The app with a TURN server configured and credentials that live `TURN_TTL` seconds."""
    path = tmp_path / "call.db"
    shutil.copyfile(demo_templates.sqlite(), path)
    server = LiveServer(
        tmp_path / "live", database_url=f"sqlite+aiosqlite:///{path}", reconnect_grace=20.0,
        stun_urls=(), turn_urls=(TURN_URL,), turn_secret="coturn-secret", turn_ttl=TURN_TTL,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def turn_username(person: Person) -> str | None:
    ice = person.page.evaluate("window.junta.ice()")
    turn = [s for s in ice["servers"] if s.get("username")]
    return str(turn[0]["username"]) if turn else None


def expiry(username: str) -> int:
    return int(username.split(":", 1)[0])


def wait_renewed(person: Person, after: str) -> str:
    """The page's TURN credentials replaced by ones expiring later than `after`'s."""
    renewed: str = wait_until(
        lambda: (u := turn_username(person)) and expiry(u) > expiry(after) and u,
        timeout=TURN_TTL * 3, what=f"{person.email} to renew its TURN credentials",
    )
    return renewed


def test_a_pair_renews_turn_credentials_on_its_connection_before_they_expire(
    browser: Any, turn_server: LiveServer, people: list[Person]
) -> None:
    a = open_person(browser, turn_server, LARAZA)
    b = open_person(browser, turn_server, MERIDA)
    people.extend([a, b])
    go_to_prejoin(a, turn_server, CONSULTATION)
    go_to_prejoin(b, turn_server, CONSULTATION)
    join(a)
    join(b)
    wait_connected(a, b)
    b_id = b.peer_id

    first = turn_username(a)
    assert first is not None
    assert expiry(first) <= time.time() + TURN_TTL + 1
    renewed = wait_renewed(a, first)
    # Before the old ones expired, and the connection we keep has the new ones (setConfiguration),
    # so an ICE restart now would allocate a relay.
    assert time.time() < expiry(first) + 1
    pc = a.page.evaluate_handle("(id) => window.junta.pcs.get(id)", b_id)
    wait_until(lambda: expiry(pc.evaluate(PC_TURN_USERNAME)) >= expiry(renewed),
               timeout=5, what="the P2P connection to get the renewed credentials")

    # Well past the first credentials' expiry the page still holds live ones, and the call goes on.
    while time.time() < expiry(first) + TURN_TTL:
        time.sleep(0.5)
    now = time.time()
    assert expiry(turn_username(a) or "0:") > now
    assert expiry(pc.evaluate(PC_TURN_USERNAME)) > now
    assert a.page.evaluate("window.junta.ice().refreshes") >= 2
    assert_frames_flow(b, a.peer_id)


def test_a_waiting_specialist_has_no_turn_until_admitted_then_keeps_it_fresh_through_the_sfu(
    browser: Any, turn_server: LiveServer, people: list[Person]
) -> None:
    coordinator = open_person(browser, turn_server, COORDINATOR)
    guest = open_person(browser, turn_server, MERIDA)
    people.extend([coordinator, guest])
    go_to_prejoin(coordinator, turn_server, BOARD)
    join(coordinator)
    go_to_prejoin(guest, turn_server, BOARD)
    join(guest, expect="waiting")
    time.sleep(1)
    assert turn_username(guest) is None  # not before admission

    admit_waiting_guest(coordinator, guest)
    wait_connected(coordinator, guest)
    first = turn_username(guest)
    assert first is not None

    renewed = wait_renewed(guest, first)
    # Both legs with the media node got them.
    for leg in ("publishPc", "subscribePc"):
        wait_until(
            lambda leg=leg: expiry(guest.page.evaluate(
                f"window.junta.sfu.{leg} && ({PC_TURN_USERNAME})(window.junta.sfu.{leg})")
                or "0:") >= expiry(renewed),
            timeout=5, what=f"the SFU {leg} to get the renewed credentials",
        )
    assert_frames_flow(coordinator, guest.peer_id)


# The page's IceCredentials on a clock the test moves, asking a server that counts the requests.
CREDENTIALS_ON_A_CLOCK = """async () => {
  const { IceCredentials } = await import("/static/js/call/iceservers.js");
  let now = 0;
  const asked = [];
  const turn = (n) => [{ urls: ["turn:turn.junta.test"], username: `${n}:u`, credential: "c" }];
  const ice = new IceCredentials({
    request: async () => {
      asked.push(now);
      return { ok: true, ice_servers: turn(asked.length), ice_expires_in: 300 };
    },
    now: () => now,
  });
  const seen = {};
  ice.set(turn(0), 300);
  seen.freshAtFirst = ice.ensureFresh() === null;
  now = 270000;  // 30 s left: good enough for a new connection
  seen.freshWith30s = ice.ensureFresh() === null;
  now = 285000;  // 15 s left: a new connection waits for fresh ones, two share one request
  const [first, second] = await Promise.all([ice.ensureFresh(), ice.ensureFresh()]);
  seen.requests = asked.length;
  seen.servers = [first[0].username, second[0].username];
  seen.freshAfter = ice.ensureFresh() === null;
  ice.set([{ urls: ["stun:s"] }], null);  // no TURN: nothing ever expires
  now = 1e12;
  seen.freshWithoutTurn = ice.ensureFresh() === null;
  ice.close();
  return seen;
}"""


def test_a_new_connection_waits_for_fresh_credentials_only_when_they_are_about_to_expire(
    browser: Any, turn_server: LiveServer, people: list[Person]
) -> None:
    page = open_person(browser, turn_server, LARAZA)
    people.append(page)
    page.page.goto(turn_server.url + "/dashboard")
    assert page.page.evaluate(CREDENTIALS_ON_A_CLOCK) == {
        "freshAtFirst": True, "freshWith30s": True, "requests": 1, "servers": ["1:u", "1:u"],
        "freshAfter": True, "freshWithoutTurn": True,
    }
