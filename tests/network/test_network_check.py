"""The network check page from inside a hospital, behind each firewall a hospital may have
(issue 22.5): the page must say, in plain words, what its firewall leaves to calls.

The namespace network of `conftest.py` runs Debian's coturn with the shipped configuration (UDP
and TCP on 3478, TLS on 443 with a certificate from the test's own authority, which the
hospital's Chromium trusts) and Junta handing out its STUN and TURN URIs. An IT person opens
/network-check in a Chromium inside the hospital, without an account.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.calls import new_person
from tests.live import LiveServer
from tests.network.conftest import SiteBrowser
from tests.network.netns import Network
from tests.network.topology import Allow, Firewall, hospital_firewall

pytestmark = [pytest.mark.network, pytest.mark.browser, pytest.mark.timeout(180)]

# The firewall, what the check finds for each path, and its verdict.
CASES = {
    "open": ({"stun": "works", "turn-udp": "works", "turn-tcp": "works", "turn-tls": "works"},
             "direct"),
    "udp-blocked": ({"stun": "blocked", "turn-udp": "blocked", "turn-tcp": "works",
                     "turn-tls": "works"}, "tcp"),
    "tcp-443-only": ({"stun": "blocked", "turn-udp": "blocked", "turn-tcp": "blocked",
                      "turn-tls": "works"}, "tls"),
    "web-only": ({"stun": "blocked", "turn-udp": "blocked", "turn-tcp": "blocked",
                  "turn-tls": "blocked"}, "blocked"),
}


def firewall(network: Network, kind: str) -> Firewall:
    web = network.address("server")
    if kind == "web-only":  # the pages and socket.io, and nothing for media
        return Firewall(kind, (Allow("tcp", web, 443),))
    return hospital_firewall(kind, web=web, turn=network.address("turn"))


@pytest.mark.parametrize("kind", list(CASES))
def test_the_check_tells_what_the_hospitals_firewall_leaves_to_calls(
    kind: str,
    hospital_network: Network,
    junta_server: LiveServer,
    site_browser: SiteBrowser,
    trusting_home: Path,
) -> None:
    hospital_network.firewall("hospital", firewall(hospital_network, kind))
    browser = site_browser("hospital", home=trusting_home)
    visitor = new_person(browser, "it@hospital.example", locale="en-US", media=False)
    page = visitor.page
    page.goto(junta_server.url + "/network-check")
    page.wait_for_function(
        "() => document.querySelectorAll('#netcheck-rows td[data-state]').length > 0 &&"
        " !document.querySelector('#netcheck-rows td[data-state=checking]')",
        timeout=60_000,
    )
    rows = page.locator("#netcheck-rows tr")
    found = {
        rows.nth(i).get_attribute("data-kind"):
            rows.nth(i).locator("td[data-state]").get_attribute("data-state")
        for i in range(rows.count())
    }
    paths, verdict = CASES[kind]
    assert found == paths, (found, visitor.console)
    assert page.locator("#netcheck-verdict").get_attribute("data-verdict") == verdict
    print(f"{kind}: {page.locator('#netcheck-verdict').inner_text()}")
