"""deploy/turnserver.conf run by Debian's coturn: a guest's TURN allocation reaches the media
node and nothing else of the servers' networks (issue 20.2).

The test starts `turnserver` with the shipped file and overrides on the command line only what
a test must: the listening and relay address (127.0.0.1), spare ports, the realm, the shared
secret, and where coturn keeps its pid file and database. Everything the hospital's review asked
for (the denied ranges, no TCP relays, no multicast) comes from the file.

Loopback stands in for the servers' networks. coturn refuses loopback peers by default whatever
the file says, which would hide the file's rules, so the test passes `--allow-loopback-peers`:
then 127.0.0.1 (where Redis and PostgreSQL listen here, as they do on a compose host) is refused
only because the file denies 127.0.0.0/8, and 127.0.0.2 plays the media node, let through by
`--allowed-peer-ip` as docker-compose.yml lets JUNTA_MEDIA_IP through. Permissions are per
address (RFC 8656 section 9), so Redis's and PostgreSQL's ports need no separate request: the
permission for their address is what is refused.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from signaling.ice import turn_credentials
from tests.faults.servers import wait_until
from tests.services import free_port, require, stop_process
from tests.turn_client import TCP, TurnClient

REPO = Path(__file__).resolve().parent.parent
SECRET = "turn-shared-secret-for-tests"
MEDIA_NODE = "127.0.0.2"
REDIS_AND_POSTGRES = "127.0.0.1"

pytestmark = pytest.mark.timeout(60)


def _udp_answers(port: int) -> bool:
    try:
        with TurnClient(("127.0.0.1", port), "probe", "probe", timeout=0.3) as client:
            return client.allocate().code == 401
    except OSError:
        return False


@pytest.fixture(scope="module")
def turnserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    binary = shutil.which("turnserver")
    require(binary is not None, "coturn (turnserver)")
    assert binary is not None
    workdir = tmp_path_factory.mktemp("coturn")
    port, tls_port = free_port(), free_port()
    log = (workdir / "turnserver.log").open("wb")
    process = subprocess.Popen(
        [binary, "-c", str(REPO / "deploy" / "turnserver.conf"),
         "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
         f"--listening-port={port}", f"--tls-listening-port={tls_port}",
         "--realm=junta.test", f"--static-auth-secret={SECRET}",
         "--allow-loopback-peers", f"--allowed-peer-ip={MEDIA_NODE}",
         f"--pidfile={workdir / 'turnserver.pid'}", f"--db={workdir / 'turndb'}"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: _udp_answers(port), 10, "turnserver answering")
        yield port
    finally:
        stop_process(process)
        log.close()


def credentials(valid_for: int = 300) -> tuple[str, str]:
    """What Junta's join flow hands an admitted guest (signaling/ice.py)."""
    return turn_credentials(SECRET, "guest:reviewer", int(time.time()) + valid_for)


def test_a_relay_reaches_the_media_node_but_not_the_servers_networks(turnserver: int) -> None:
    with TurnClient(("127.0.0.1", turnserver), *credentials()) as client:
        allocated = client.allocate()
        assert allocated.ok, allocated
        assert client.create_permission(MEDIA_NODE).ok
        assert client.create_permission("198.41.0.4").ok  # a public address: a browser's
        denied = {
            REDIS_AND_POSTGRES: "loopback",
            "10.20.30.40": "private (10/8)",
            "172.17.0.2": "Docker's default bridge",
            "172.24.0.3": "a compose network",
            "192.168.1.10": "private (192.168/16)",
            "100.64.0.1": "CGNAT",
            "169.254.169.254": "link-local (cloud metadata)",
            "0.0.0.1": "this network",
            "224.0.0.251": "multicast",
        }
        for address, what in denied.items():
            answer = client.create_permission(address)
            assert (answer.ok, answer.code) == (False, 403), (address, what, answer)


def test_tcp_relays_are_refused(turnserver: int) -> None:
    # RFC 6062: a TCP allocation is asked for on a TCP control connection.
    with TurnClient(("127.0.0.1", turnserver), *credentials(), transport="tcp") as client:
        answer = client.allocate(TCP)
    assert (answer.ok, answer.code) == (False, 442), answer


def test_expired_credentials_allocate_nothing(turnserver: int) -> None:
    with TurnClient(("127.0.0.1", turnserver), *credentials(valid_for=-5)) as client:
        answer = client.allocate()
    assert (answer.ok, answer.code) == (False, 401), answer
