"""Debian's coturn in a site of a test network, run with the shipped deploy/turnserver.conf.

Only what a test network needs is changed, on the command line: the listening and relay
address (the site's), the realm and shared secret, the TLS certificate (from the test's own
authority), the pid file and database, and the peers it may relay to. The file denies every
special-purpose range, 198.18.0.0/15 among them, so the test allows, with `allowed-peer-ip` as
docker-compose.yml allows its media node, the test network's addresses that stand for the
internet and the media node. The ports (3478, TLS on 443, relays 49160-49999) stay as shipped:
the namespace is the TURN host's own.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tests.faults.servers import wait_until
from tests.network.certs import ServerCertificate
from tests.network.netns import Network
from tests.services import stop_process

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "deploy" / "turnserver.conf"
PORT = 3478
TLS_PORT = 443
SECRET = "turn-secret-of-the-network-tests"
REALM = "junta.test"


@dataclass
class Coturn:
    """A running coturn; `log` is its output so far (for a failing test's report)."""

    address: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def urls(self) -> tuple[str, ...]:
        """The TURN URIs Junta hands out for it: UDP, TCP, and TLS on 443."""
        return (
            f"turn:{self.address}:{PORT}?transport=udp",
            f"turn:{self.address}:{PORT}?transport=tcp",
            f"turns:{self.address}:{TLS_PORT}?transport=tcp",
        )

    def stun_url(self) -> str:
        return f"stun:{self.address}:{PORT}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process)


def start(
    network: Network,
    site: str,
    workdir: Path,
    certificate: ServerCertificate,
    allowed_peers: Iterable[str],
) -> Coturn:
    """coturn listening on `site`'s address, once it accepts TCP on 3478 and 443."""
    binary = shutil.which("turnserver")
    if binary is None:
        raise FileNotFoundError("turnserver (Debian's coturn) is not installed")
    address = network.address(site)
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "turnserver.log"
    argv = [
        binary,
        "-c",
        str(CONFIG),
        f"--listening-ip={address}",
        f"--relay-ip={address}",
        f"--realm={REALM}",
        f"--static-auth-secret={SECRET}",
        f"--cert={certificate.cert}",
        f"--pkey={certificate.key}",
        f"--pidfile={workdir / 'turnserver.pid'}",
        f"--db={workdir / 'turndb'}",
        *(f"--allowed-peer-ip={peer}" for peer in allowed_peers),
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            network.command(site, *argv), stdout=log, stderr=subprocess.STDOUT
        )
    server = Coturn(address, process, log_path)

    def listening() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"turnserver exited ({process.returncode}):\n{server.log()}")
        listeners = network.run(site, "ss", "-Htln").stdout
        return all(f"{address}:{port}" in listeners for port in (PORT, TLS_PORT))

    try:
        wait_until(listening, 20, "turnserver listening on 3478 and 443")
    except BaseException:
        server.stop()
        raise
    return server
