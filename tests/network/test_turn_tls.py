"""Chromium checks a TURN server's TLS certificate (turns:) like a web page's.

A hospital that lets only TCP 443 out reaches coturn by TURN over TLS on 443 (deploy/
turnserver.conf). The test's coturn has a certificate from the test's own authority: a Chromium
that does not know the authority gets no relay at all (the TLS handshake fails, silently for
the page), one whose NSS database trusts it (`$HOME/.pki/nssdb`, added with certutil) gets a
relay over TLS, and so does one started with --ignore-certificate-errors (a flag that turns
off every certificate check, so the call tests trust the authority instead).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from signaling.ice import turn_credentials
from tests.network import coturn
from tests.network.conftest import SiteBrowser
from tests.network.netns import Network
from tests.network.topology import hospital_firewall

pytestmark = [pytest.mark.network, pytest.mark.browser, pytest.mark.timeout(120)]

# Gather relay candidates with one TURN server (ICE restricted to relays) until gathering
# completes, or for at most `wait` ms; the relay protocol of each (udp, tcp, tls), from getStats.
RELAYS = """async ([server, wait]) => {
  const pc = new RTCPeerConnection({iceServers: [server], iceTransportPolicy: "relay"});
  pc.createDataChannel("probe");
  const gathered = new Promise((resolve) => {
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve();
    setTimeout(resolve, wait);
  });
  await pc.setLocalDescription();
  await gathered;
  const relays = [];
  for (const s of (await pc.getStats()).values()) {
    if (s.type === "local-candidate" && s.candidateType === "relay") relays.push(s.relayProtocol);
  }
  pc.close();
  return relays;
}"""


def tls_relays(browser: object, turn: coturn.Coturn) -> list[str]:
    username, credential = turn_credentials(coturn.SECRET, "hospital", int(time.time()) + 600)
    server = {"urls": [turn.urls()[2]], "username": username, "credential": credential}
    page = browser.new_page()  # type: ignore[attr-defined]
    return list(page.evaluate(RELAYS, [server, 20_000]))


@pytest.mark.parametrize(
    ("trust", "relays"),
    [("nothing", []), ("nss", ["tls"]), ("--ignore-certificate-errors", ["tls"])],
)
def test_turn_over_tls_needs_a_certificate_chromium_trusts(
    trust: str,
    relays: list[str],
    hospital_network: Network,
    turn_server: coturn.Coturn,
    site_browser: SiteBrowser,
    trusting_home: Path,
    tmp_path: Path,
) -> None:
    hospital_network.firewall(
        "hospital",
        hospital_firewall(
            "tcp-443-only",
            web=hospital_network.address("server"),
            turn=hospital_network.address("turn"),
        ),
    )
    plain_home = tmp_path / "plain-home"  # an NSS database of its own, without the authority
    plain_home.mkdir()
    if trust == "nss":
        browser = site_browser("hospital", home=trusting_home)
    else:
        flags = (trust,) if trust.startswith("--") else ()
        browser = site_browser("hospital", home=plain_home, args=flags)
    assert tls_relays(browser, turn_server) == relays
