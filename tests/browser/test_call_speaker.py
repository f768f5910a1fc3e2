"""Active speaker: each page measures its own microphone (Chromium's fake device beeps) and tells
the room; the others outline its tile, peer to peer and through the SFU. Muted, it never speaks."""

from __future__ import annotations

import re

import pytest

from tests.browser.calls import (
    BOARD,
    CONSULTATION,
    COORDINATOR,
    LARAZA,
    MERIDA,
    OpenPeople,
    Person,
    enter,
    go_to_prejoin,
    join,
    wait_connected,
    wait_until,
)
from tests.live import LiveServer

pytestmark = pytest.mark.browser

# Chromium's fake microphones share one beep between them (whichever stream reads it first), so
# each page's microphone is replaced by a steady tone: a speaker who does not stop talking.
TONE_MICROPHONE = """(() => {
  const devices = navigator.mediaDevices;
  const original = devices.getUserMedia.bind(devices);
  devices.getUserMedia = async (constraints) => {
    const stream = await original(constraints);
    if (!constraints || !constraints.audio) return stream;
    const context = new AudioContext();
    const oscillator = context.createOscillator();
    const gain = context.createGain();
    gain.gain.value = 0.3;
    const destination = context.createMediaStreamDestination();
    oscillator.connect(gain).connect(destination);
    oscillator.start();
    for (const track of stream.getAudioTracks()) {
      stream.removeTrack(track);
      track.stop();
    }
    stream.addTrack(destination.stream.getAudioTracks()[0]);
    return stream;
  };
})();"""


def speaking_tile(viewer: Person, remote: str) -> bool:
    return bool(viewer.page.evaluate(
        "(id) => !!document.querySelector(`[data-key=\"${id}:camera\"].speaking`)", remote))


def said_speaking(viewer: Person, remote: str) -> bool:
    peers = {p["peer_id"]: p for p in viewer.state()["peers"]}
    return bool(peers.get(remote, {}).get("state", {}).get("speaking"))


def assert_highlighted(speaker: Person, viewer: Person) -> None:
    remote = speaker.peer_id
    wait_until(lambda: said_speaking(viewer, remote), timeout=15,
               what=f"{viewer.email} told that {speaker.email} speaks")
    wait_until(lambda: speaking_tile(viewer, remote), timeout=5,
               what=f"{viewer.email} outlining {speaker.email}'s tile")


def test_the_speaker_is_highlighted_peer_to_peer_and_not_when_muted(
    call_server: LiveServer, open_people: OpenPeople
) -> None:
    a, b = open_people(call_server, LARAZA, MERIDA, init_script=TONE_MICROPHONE)
    enter([a, b], call_server, CONSULTATION)
    wait_connected(a, b)
    assert a.mode() == "p2p"
    assert_highlighted(a, b)
    assert_highlighted(b, a)
    b.page.click("#btn-mic")
    wait_until(lambda: not said_speaking(a, b.peer_id) and not speaking_tile(a, b.peer_id),
               timeout=10, what="a muted speaker to stop speaking")
    for _ in range(10):  # and it stays silent while muted
        assert not said_speaking(a, b.peer_id)
        a.page.wait_for_timeout(200)


def test_the_speaker_is_highlighted_through_the_sfu(
    call_server: LiveServer, open_people: OpenPeople
) -> None:
    a, b = open_people(call_server, COORDINATOR, LARAZA, init_script=TONE_MICROPHONE)
    go_to_prejoin(a, call_server, BOARD)
    go_to_prejoin(b, call_server, BOARD)
    join(a)
    join(b, expect="waiting")  # a tumor board: the coordinator admits
    a.open_panel("people")
    entry = a.page.locator(f'#waiting-list li[data-peer-id="{b.peer_id}"]')
    entry.get_by_role("button", name=re.compile("^Admitir")).click()
    b.page.wait_for_selector('#call[data-view="incall"]', timeout=10_000)
    wait_connected(a, b)
    assert a.mode() == "sfu"
    assert_highlighted(b, a)
    assert_highlighted(a, b)
