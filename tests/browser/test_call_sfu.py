"""Calls through the SFU: four people, a P2P call growing to three, mute, screen share, recovery.

Each page reads what it decodes from its subscription's inbound-rtp stats, mapped to the remote
peer by the `tracks` map (mid → peer_id, source) of the server's subscription offer.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

import pytest

from tests.browser.calls import (
    CONSULTATION,
    COORDINATOR,
    LARAZA,
    MERIDA,
    OpenPeople,
    Person,
    assert_frames_flow,
    enter,
    wait_connected,
    wait_until,
)
from tests.live import LiveServer
from web.app.factory import CALL_NAMESPACE

pytestmark = pytest.mark.browser

REFERRER = "referente.hgr20@junta.example"
# A participant's mute or camera-off state travels as a signaling message, page → server →
# page: a round trip of milliseconds, but one that three busy Chromium pages and the server
# (SFU included) on a loaded machine can stretch past a second or two.
PEER_STATE_TIMEOUT_MS = 10_000

# Audio energy received through the subscription from one peer (grows while they make sound).
SFU_AUDIO_ENERGY = """async (remote) => {
  const sfu = window.junta.sfu;
  const pc = sfu && sfu.subscribePc;
  if (!pc) return -1;
  let energy = -1;
  for (const s of (await pc.getStats()).values()) {
    const info = s.type === "inbound-rtp" && s.kind === "audio" ? sfu.tracksByMid[s.mid] : null;
    if (info && info.peer_id === remote) energy = Math.max(energy, 0) + (s.totalAudioEnergy || 0);
  }
  return energy;
}"""


def wait_sfu(person: Person, timeout: float = 20.0) -> None:
    wait_until(lambda: person.mode() == "sfu", timeout=timeout, what=f"{person.email} in SFU mode")


def assert_sfu_video_flows(
    viewer: Person,
    remotes: list[str],
    *,
    source: str = "camera",
    frames: int = 10,
    timeout: float = 30.0,
) -> None:
    """`viewer` decodes `frames` more frames of each remote's `source` through the subscription,
    and shows them in that remote's tile."""
    keys = [f"{remote}:{source}" for remote in remotes]
    try:
        start = wait_until(
            lambda: (got := viewer.sfu_frames()) and all(k in got for k in keys) and got,
            timeout=timeout,
            what=f"{viewer.email} to subscribe to {keys}",
        )
        wait_until(
            lambda: all(viewer.sfu_frames().get(k, 0) >= start[k] + frames for k in keys),
            timeout=timeout,
            what=f"{viewer.email} to decode {frames} more frames of each of {keys}",
        )
    except AssertionError as error:
        muted = viewer.page.evaluate(
            "() => window.junta.sfu.subscribePc.getTransceivers().map("
            "t => [t.mid, t.currentDirection, t.receiver.track.kind, t.receiver.track.muted])"
        )
        # Which leg was (re)connecting and the page's own warnings say why media did not come.
        raise AssertionError(
            f"{error}; decoded {viewer.sfu_frames()}; receivers {muted}\n{viewer.debug()}"
        ) from None
    for remote in remotes:
        wait_until(
            partial(viewer.video_width, remote, source),
            timeout=20,
            what=f"{viewer.email}'s {source} tile of {remote} to show video",
        )
    # The tiles show the subscription's tracks (the stats of the tile's own track grow too).
    for remote in remotes:
        assert_frames_flow(viewer, remote, source, frames=3, timeout=20)


def no_p2p(person: Person) -> bool:
    return bool(
        person.page.evaluate("window.junta.pcs.size === 0 && window.junta.links.size === 0")
    )


def test_four_people_decode_each_other_through_the_sfu(
    call_server: LiveServer, open_people: OpenPeople, artifacts: Path
) -> None:
    persons = open_people(call_server, LARAZA, MERIDA, COORDINATOR, REFERRER)
    started = time.monotonic()
    enter(persons, call_server, CONSULTATION)
    ids = [person.peer_id for person in persons]
    for person in persons:
        wait_sfu(person)
    for person, own in zip(persons, ids, strict=True):
        assert_sfu_video_flows(person, [i for i in ids if i != own])
    for person in persons:
        wait_until(
            partial(no_p2p, person),
            timeout=15,
            what=f"{person.email} without P2P connections",
        )
        state = person.state()["sfu"]
        assert state["publish"] == "connected" and state["subscribe"] == "connected", state
    print(f"four-way SFU call decoding after {time.monotonic() - started:.1f}s")
    persons[0].page.wait_for_timeout(500)
    persons[0].page.screenshot(path=str(artifacts / "call-sfu-four.png"))


def test_third_joiner_moves_a_p2p_call_to_the_sfu_without_reloads(
    call_server: LiveServer, open_people: OpenPeople
) -> None:
    a, b, c = open_people(call_server, LARAZA, MERIDA, COORDINATOR)
    enter([a, b], call_server, CONSULTATION)
    wait_connected(a, b)
    a_id, b_id = a.peer_id, b.peer_id
    assert a.mode() == "p2p" and b.mode() == "p2p"
    assert a.page.evaluate("(id) => window.junta.pcs.get(id).connectionState", b_id) == "connected"
    assert_frames_flow(a, b_id)
    assert_frames_flow(b, a_id)
    for person in (a, b):
        person.page.evaluate("window.__loadedMarker = 'still-here'")

    started = time.monotonic()
    enter([c], call_server, CONSULTATION)
    c_id = c.peer_id
    for person in (a, b, c):
        wait_sfu(person)
    assert_sfu_video_flows(a, [b_id, c_id])
    assert_sfu_video_flows(b, [a_id, c_id])
    assert_sfu_video_flows(c, [a_id, b_id])
    for person in (a, b, c):
        wait_until(
            partial(no_p2p, person),
            timeout=15,
            what=f"{person.email}'s P2P links closed",
        )
    print(f"P2P → SFU with media through the SFU after {time.monotonic() - started:.1f}s")
    # Make-before-break: A and B closed their P2P link because the SFU carried the other's video.
    for person, other in ((a, b_id), (b, a_id)):
        closed = [
            e
            for e in person.page.evaluate("window.junta.events")
            if e["type"] == "p2p-closed" and e.get("peer_id") == other
        ]
        assert closed, f"{person.email} never closed its P2P link to {other}"
        assert person.page.evaluate("window.__loadedMarker") == "still-here"
        assert person.state()["joinCount"] == 1
    # Nobody left or arrived again on the way.
    for person in (a, b, c):
        kinds = [e["type"] for e in person.page.evaluate("window.junta.events")]
        assert "peer-left" not in kinds


def test_mute_and_screen_share_reach_the_others_through_the_sfu(
    call_server: LiveServer, open_people: OpenPeople, artifacts: Path
) -> None:
    persons = open_people(call_server, LARAZA, MERIDA, COORDINATOR)
    a, b, c = persons
    enter(persons, call_server, CONSULTATION)
    a_id, b_id = a.peer_id, b.peer_id
    for person in persons:
        wait_sfu(person)
    assert_sfu_video_flows(b, [a_id, c.peer_id])

    def energy_grows(seconds: float = 1.5) -> float:
        before = b.page.evaluate(SFU_AUDIO_ENERGY, a_id)
        time.sleep(seconds)
        return float(b.page.evaluate(SFU_AUDIO_ENERGY, a_id)) - float(before)

    # A's microphone is heard through the SFU; after mute, B gets silence and the muted state.
    wait_until(lambda: energy_grows(1.0) > 0, timeout=15, what="A's audio energy at B")
    a.page.click("#btn-mic")
    b.page.wait_for_selector(
        f'[data-key="{a_id}:camera"][data-audio="off"]', timeout=PEER_STATE_TIMEOUT_MS
    )
    # Silence follows once what was in flight (jitter buffer included) has played out.
    wait_until(lambda: energy_grows() < 1e-4, timeout=10, what="silence from A at B after mute")
    a.page.click("#btn-mic")
    wait_until(lambda: energy_grows(1.0) > 0, timeout=10, what="A's audio again after unmute")

    # Screen share: its own track through the SFU, shown as A's screen tile at B and C.
    a.page.click("#btn-screen")
    a.page.wait_for_selector("#btn-screen[aria-pressed=true]", timeout=10_000)
    for viewer in (b, c):
        viewer.page.wait_for_selector(f'[data-key="{a_id}:screen"]', timeout=15_000)
        assert_sfu_video_flows(viewer, [a_id], source="screen", frames=5)
    assert b.page.locator("#stage").get_attribute("data-layout") == "presentation"
    # The camera keeps flowing beside it.
    assert_sfu_video_flows(b, [a_id], frames=5)
    b.page.screenshot(path=str(artifacts / "call-sfu-screen-share.png"))

    a.page.click("#btn-screen")
    for viewer in (b, c):
        viewer.page.wait_for_selector(
            f'[data-key="{a_id}:screen"]', state="detached", timeout=10_000
        )

    # Camera off on the publish leg: B shows the avatar.
    a.page.click("#btn-cam")
    b.page.wait_for_selector(
        f'[data-key="{a_id}:camera"][data-video="off"]', timeout=PEER_STATE_TIMEOUT_MS
    )
    assert b_id  # B stays in the call throughout
    assert all(p.state()["joinCount"] == 1 for p in persons)


def three_in_sfu(open_people: OpenPeople, server: LiveServer) -> list[Person]:
    persons = open_people(server, LARAZA, MERIDA, COORDINATOR)
    enter(persons, server, CONSULTATION)
    for person in persons:
        wait_sfu(person)
    return persons


def saw_leave(person: Person, peer_id: str) -> bool:
    return any(
        e["type"] == "peer-left" and e.get("peer_id") == peer_id
        for e in person.page.evaluate("window.junta.events")
    )


def test_sfu_call_survives_a_signaling_drop_without_reload(
    call_server: LiveServer, open_people: OpenPeople
) -> None:
    a, b, c = three_in_sfu(open_people, call_server)
    a_id, b_id, c_id = a.peer_id, b.peer_id, c.peer_id
    assert_sfu_video_flows(a, [b_id, c_id])
    a.page.evaluate(
        "window.__loadedMarker = 'still-here';"
        " window.__legs = [window.junta.sfu.publishPc, window.junta.sfu.subscribePc]"
    )

    # The server drops A's socket: A rejoins as the same peer; its media connections carry on.
    assert call_server.run(call_server.app[CALL_NAMESPACE].drop_peer(a_id)) is True
    wait_until(
        lambda: a.state()["joinCount"] >= 2 and a.state()["signaling"] == "joined",
        timeout=15,
        what=f"{a.email} to rejoin",
    )
    assert a.page.evaluate("window.__loadedMarker") == "still-here"
    assert a.page.evaluate(
        "window.__legs[0] === window.junta.sfu.publishPc"
        " && window.__legs[1] === window.junta.sfu.subscribePc"
    )
    assert a.mode() == "sfu"
    assert_sfu_video_flows(a, [b_id, c_id])
    assert_sfu_video_flows(b, [a_id])
    assert not saw_leave(b, a_id)


def test_failed_sfu_legs_are_replaced_by_new_connections(
    call_server: LiveServer, open_people: OpenPeople
) -> None:
    a, b, c = three_in_sfu(open_people, call_server)
    a_id, b_id, c_id = a.peer_id, b.peer_id, c.peer_id
    assert_sfu_video_flows(a, [b_id, c_id])
    a.page.evaluate("window.__legs = [window.junta.sfu.publishPc, window.junta.sfu.subscribePc]")

    # As after an ICE failure (aiortc has no ICE restart): a new publish connection offered with
    # `restart: true`, then a new subscription through `resubscribe`; media flows again.
    a.page.evaluate("window.junta.sfu.restartLeg('publish')")
    wait_until(
        lambda: a.page.evaluate(
            "window.junta.sfu.publishPc !== window.__legs[0]"
            " && window.junta.sfu.publishPc.connectionState === 'connected'"
        ),
        timeout=20,
        what="A's new publish connection",
    )
    assert a.page.evaluate("window.__legs[0].signalingState") == "closed"
    assert_sfu_video_flows(b, [a_id])
    assert_sfu_video_flows(c, [a_id])

    a.page.evaluate("window.junta.sfu.restartLeg('subscribe')")
    wait_until(
        lambda: a.page.evaluate(
            "!!window.junta.sfu.subscribePc && window.junta.sfu.subscribePc !== window.__legs[1]"
            " && window.junta.sfu.subscribePc.connectionState === 'connected'"
        ),
        timeout=20,
        what="A's new subscription",
    )
    assert_sfu_video_flows(a, [b_id, c_id])
    assert not saw_leave(b, a_id)
