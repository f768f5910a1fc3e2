"""Calls from a hospital whose firewall lets media out only to the TURN host (issue 22.1).

Each test builds the namespace network of `conftest.py`, runs Debian's coturn with the shipped
deploy/turnserver.conf and Junta handing out its URIs, and puts La Raza's specialist in a
Chromium inside the hospital: its firewall lets through the web server (pages and socket.io on
443) and, for media, only what the firewall under test allows towards the TURN host. The
selected candidate pair (getStats) must be the hospital's relay, over the protocol that
firewall leaves, and both sides must decode each other's video.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.calls import (
    CONSULTATION,
    LARAZA,
    MERIDA,
    Person,
    assert_frames_flow,
    enter,
    open_person,
    wait_connected,
    wait_until,
)
from tests.live import LiveServer
from tests.network.conftest import SiteBrowser
from tests.network.netns import Network
from tests.network.stats import CandidatePair, selected_pair
from tests.network.topology import hospital_firewall

pytestmark = [pytest.mark.network, pytest.mark.browser, pytest.mark.timeout(240)]

# Which TURN transport each firewall leaves the hospital: Chromium prefers a UDP relay to a TCP
# one, and TCP to TLS, among the candidate pairs that work.
FIREWALLS = {
    "open": "udp",
    "udp-blocked": "tcp",
    "tcp-443-only": "tls",
}


def protect(network: Network, firewall: str) -> None:
    """The hospital's firewall, and for `symmetric-nat` the NAT both callers sit behind."""
    network.firewall(
        "hospital",
        hospital_firewall(firewall, web=network.address("server"), turn=network.address("turn")),
    )
    if firewall == "symmetric-nat":
        network.symmetric_nat("hospital")
        network.symmetric_nat("peer")


def relayed_pair(person: Person, which: str, protocol: str) -> CandidatePair:
    """Wait for `person`'s connection `which` to carry media over its relay via `protocol`."""
    seen: list[CandidatePair | None] = []

    def relayed() -> CandidatePair | None:
        pair = selected_pair(person.page, which)
        seen.append(pair)
        ok = pair is not None and pair.local == "relay" and pair.relay_protocol == protocol
        return pair if ok and pair.bytes_received > 0 else None

    try:
        return wait_until(
            relayed,
            timeout=30,
            interval=0.5,
            what=f"{person.email}'s {which} to be relayed over {protocol}",
        )
    except AssertionError as error:
        raise AssertionError(f"{error}; last selected pair: {seen[-1] if seen else None}") from None


def call_across(site_browser: SiteBrowser, server: LiveServer, home: Path) -> tuple[Person, Person]:
    """The peer's specialist and La Raza's (in the hospital, its Chromium trusting the TURN
    host's certificate through `home`'s NSS database) in the consultation room."""
    # Camera and microphone need a secure context: the server is plain HTTP on 198.18.2.2:443
    # here (TLS would be nginx's job), so Chromium is told to treat that origin as secure.
    secure = f"--unsafely-treat-insecure-origin-as-secure={server.url}"
    hospital = site_browser("hospital", home=home, args=(secure,))
    outside = site_browser("peer", args=(secure,))
    remote = open_person(outside, server, MERIDA)
    inside = open_person(hospital, server, LARAZA)
    enter([remote, inside], server, CONSULTATION)
    wait_connected(remote, inside, timeout=40)
    return inside, remote


@pytest.mark.parametrize("firewall", list(FIREWALLS))
def test_a_p2p_call_from_the_hospital_goes_through_turn(
    firewall: str,
    hospital_network: Network,
    junta_server: LiveServer,
    site_browser: SiteBrowser,
    trusting_home: Path,
) -> None:
    protect(hospital_network, firewall)
    inside, remote = call_across(site_browser, junta_server, trusting_home)
    pair = relayed_pair(inside, remote.peer_id, FIREWALLS[firewall])
    assert pair.state == "succeeded", pair
    assert_frames_flow(inside, remote.peer_id, timeout=30)
    assert_frames_flow(remote, inside.peer_id, timeout=30)
