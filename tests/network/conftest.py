"""Fixtures of the network tests: a namespace network per test, coturn and the Junta server in
it, and Chromiums placed in its sites.

The network (`hospital_network`) is a router and four sites: `hospital` (the page behind the
firewall under test), `server` (Junta: pages, socket.io and the in-process media node, on port
443), `turn` (coturn) and `peer` (another participant on an open line). Each fixture removes
what it made, whatever the test did; the network last, which also ends anything left running
in its namespaces.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.live import LiveServer
from tests.network import browsers, certs, coturn
from tests.network.netns import Network
from tests.services import chromium_available, network_available, require

SITES = ("hospital", "server", "turn", "peer")


@pytest.fixture
def hospital_network() -> Iterator[Network]:
    require(network_available(), "root with ip, tc, iptables and turnserver (coturn)")
    network = Network.build(*SITES)
    try:
        yield network
    finally:
        network.close()


@pytest.fixture
def turn_certificate(hospital_network: Network, tmp_path: Path) -> certs.ServerCertificate:
    """The TURN host's certificate for TLS on 443, from an authority of this test's own."""
    return certs.issue(tmp_path / "certs", hospital_network.address("turn"))


@pytest.fixture
def trusting_home(turn_certificate: certs.ServerCertificate, tmp_path: Path) -> Path:
    """A HOME for Chromium whose NSS database trusts the test's authority, as a hospital's
    machines trust the public authority of a real deployment's TURN certificate."""
    return certs.trusting_home(tmp_path / "home", turn_certificate.ca)


def relay_peers(network: Network) -> list[str]:
    """What coturn may relay to: the media node, the open peer, coturn's own relays (a relay
    to relay path), and the router's outside addresses (where NATed sites come from). The
    hospital's own address stays denied, as a private network's would be."""
    peers = [network.address(site) for site in ("server", "peer", "turn")]
    return peers + [network.topology.site(site).gateway for site in ("server", "peer", "turn")]


@pytest.fixture
def turn_server(
    hospital_network: Network,
    turn_certificate: certs.ServerCertificate,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[coturn.Coturn]:
    server = coturn.start(
        hospital_network,
        "turn",
        tmp_path / "coturn",
        turn_certificate,
        relay_peers(hospital_network),
    )
    try:
        yield server
    finally:
        server.stop()
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print("---- turnserver log (tail) ----\n" + "\n".join(server.log().splitlines()[-60:]))


@pytest.fixture
def junta_server(
    hospital_network: Network, turn_server: coturn.Coturn, tmp_path: Path, demo_templates: Any
) -> Iterator[LiveServer]:
    """Junta in the `server` site on port 443, handing out the test's coturn (STUN, TURN over
    UDP, TCP and TLS), with the production reconnect grace."""
    path = tmp_path / "call.db"
    shutil.copyfile(demo_templates.sqlite(), path)
    server = LiveServer(
        tmp_path / "live",
        database_url=f"sqlite+aiosqlite:///{path}",
        reconnect_grace=20.0,
        host=hospital_network.address("server"),
        port=443,
        netns=hospital_network.namespace("server"),
        stun_urls=(turn_server.stun_url(),),
        turn_urls=turn_server.urls(),
        turn_secret=coturn.SECRET,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


SiteBrowser = Callable[..., Any]


@pytest.fixture
def site_browser(
    playwright_session: Any, hospital_network: Network, tmp_path: Path
) -> Iterator[SiteBrowser]:
    """`site_browser(site, home=None, args=())`: a Chromium in that site, closed after."""
    require(chromium_available(), "Chromium")
    launched: list[Any] = []

    def launch(site: str, *, home: Path | None = None, args: tuple[str, ...] = ()) -> Any:
        browser = browsers.launch(
            playwright_session, hospital_network, site, tmp_path / "chromium", home=home, args=args
        )
        launched.append(browser)
        return browser

    try:
        yield launch
    finally:
        for browser in launched:
            with contextlib.suppress(Exception):
                browser.close()


@dataclass(frozen=True)
class Stage:
    """What a call test runs on: the network, Junta in it, Chromiums for its sites, and the
    HOME whose NSS database trusts the TURN host's certificate."""

    network: Network
    server: LiveServer
    site_browser: SiteBrowser
    home: Path

    def browsers(self) -> tuple[Any, Any]:
        """Chromium in the hospital (trusting the TURN certificate) and on the open line."""
        # Camera and microphone need a secure context: the server is plain HTTP on
        # 198.18.2.2:443 here (TLS is nginx's job), so Chromium treats that origin as secure.
        secure = f"--unsafely-treat-insecure-origin-as-secure={self.server.url}"
        hospital = self.site_browser("hospital", home=self.home, args=(secure,))
        return hospital, self.site_browser("peer", args=(secure,))


@pytest.fixture
def stage(
    hospital_network: Network,
    junta_server: LiveServer,
    site_browser: SiteBrowser,
    trusting_home: Path,
) -> Stage:
    return Stage(hospital_network, junta_server, site_browser, trusting_home)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the item (`rep_call`), so fixtures can tell a failure."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
