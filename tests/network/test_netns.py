"""The namespace networks themselves (tests/network/netns.py): built, probed with real sockets
opened inside their sites, changed (firewall, cut line, bandwidth, loss) and removed."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from tests.network.netns import Network, namespaces, remove_stale
from tests.network.topology import hospital_firewall

pytestmark = [pytest.mark.network, pytest.mark.timeout(120)]


@pytest.fixture
def net() -> Iterator[Network]:
    network = Network.build("hospital", "server", "turn")
    try:
        yield network
    finally:
        network.close()


def listen(net: Network, site: str, port: int, kind: int = socket.SOCK_STREAM) -> socket.socket:
    server = net.socket(site, kind)
    server.bind((net.address(site), port))
    if kind == socket.SOCK_STREAM:
        server.listen()
    return server


def tcp_reaches(net: Network, source: str, target: str, port: int) -> bool:
    with listen(net, target, port), net.socket(source) as client:
        client.settimeout(1.0)
        try:
            client.connect((net.address(target), port))
        except OSError:
            return False
        return True


def udp_delivered(net: Network, source: str, target: str, port: int, count: int) -> int:
    """How many of `count` datagrams from `source` reach `target`'s port."""
    with (
        listen(net, target, port, socket.SOCK_DGRAM) as server,
        net.socket(source, socket.SOCK_DGRAM) as client,
    ):
        for _ in range(count):
            with contextlib.suppress(PermissionError):  # the site's own firewall refused it
                client.sendto(b"x" * 200, (net.address(target), port))
            time.sleep(0.001)  # stay under the router's queues: loss is what the rules drop
        server.settimeout(0.5)
        received = 0
        try:
            while True:
                server.recv(2048)
                received += 1
        except TimeoutError:
            return received


def test_sites_reach_each_other_through_the_router(net: Network) -> None:
    assert tcp_reaches(net, "hospital", "server", 443)
    assert udp_delivered(net, "hospital", "turn", 3478, 5) == 5


def test_closing_removes_every_namespace_and_link() -> None:
    network = Network.build("hospital")
    made = network.topology.namespaces()
    assert set(made) <= set(namespaces())
    sleeper = subprocess.Popen(network.command("hospital", "sleep", "60"))
    network.close()
    assert not set(made) & set(namespaces())
    assert sleeper.wait(timeout=10) != 0  # ended with its namespace
    assert (
        "hospital"
        not in subprocess.run(
            ["ip", "-br", "link"], capture_output=True, text=True, check=True
        ).stdout
    )
    network.close()  # twice is harmless


def test_namespaces_of_a_dead_run_are_removed_when_a_network_is_built() -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    stale = f"jn{gone.pid}x0-hospital"
    subprocess.run(["ip", "netns", "add", stale], check=True)
    try:
        assert stale in remove_stale()
        assert stale not in namespaces()
    finally:
        subprocess.run(["ip", "netns", "delete", stale], capture_output=True, check=False)
    ours = Network.build("hospital")
    try:
        remove_stale()  # a live run's namespaces stay
        assert ours.namespace("hospital") in namespaces()
    finally:
        ours.close()


def test_a_firewall_without_udp_lets_tcp_to_the_turn_host_through_only(net: Network) -> None:
    net.firewall(
        "hospital",
        hospital_firewall("udp-blocked", web=net.address("server"), turn=net.address("turn")),
    )
    assert udp_delivered(net, "hospital", "turn", 3478, 5) == 0
    assert tcp_reaches(net, "hospital", "turn", 3478)
    assert tcp_reaches(net, "hospital", "server", 443)
    assert not tcp_reaches(net, "hospital", "server", 8080)


def test_only_443_open_lets_nothing_else_out(net: Network) -> None:
    net.firewall(
        "hospital",
        hospital_firewall("tcp-443-only", web=net.address("server"), turn=net.address("turn")),
    )
    assert tcp_reaches(net, "hospital", "turn", 443)
    assert not tcp_reaches(net, "hospital", "turn", 3478)
    assert udp_delivered(net, "hospital", "turn", 443, 5) == 0


def test_a_cut_line_passes_nothing_until_restored(net: Network) -> None:
    with net.cut_line("hospital"):
        assert not tcp_reaches(net, "hospital", "server", 443)
        assert udp_delivered(net, "server", "hospital", 5000, 5) == 0
    assert tcp_reaches(net, "hospital", "server", 443)


def test_a_symmetric_nat_hides_the_site_and_maps_each_destination_apart(net: Network) -> None:
    net.symmetric_nat("hospital")
    assert not tcp_reaches(net, "server", "hospital", 443)  # nothing comes in unasked
    with (
        listen(net, "server", 3478, socket.SOCK_DGRAM) as a,
        listen(net, "turn", 3478, socket.SOCK_DGRAM) as b,
        net.socket("hospital", socket.SOCK_DGRAM) as client,
    ):
        client.bind(("0.0.0.0", 40000))
        seen = []
        for server, site in ((a, "server"), (b, "turn")):
            client.sendto(b"?", (net.address(site), 3478))
            server.settimeout(2)
            _, (address, port) = server.recvfrom(16)
            seen.append((address, port))
    assert all(address != net.address("hospital") for address, _ in seen)
    assert seen[0][1] != 40000 or seen[1][1] != 40000  # the port is chosen per destination


def test_random_loss_drops_about_its_share(net: Network) -> None:
    rule = net.add_loss("hospital", 0.5)
    received = udp_delivered(net, "server", "hospital", 5000, 400)
    assert 120 <= received <= 280, received  # 200 expected; 8 standard deviations either way
    net.remove_loss(rule)
    assert udp_delivered(net, "server", "hospital", 5000, 50) == 50


def test_a_downlink_limit_slows_what_the_site_receives(net: Network) -> None:
    # 160 kB at 1 Mbit/s take at least 1.28 s; the unlimited link is far faster. Only lower
    # bounds are asserted: a busy machine may be slower, never faster.
    payload = b"x" * 160_000
    net.limit_downlink("hospital", 1000)

    def download() -> float:
        with listen(net, "server", 443) as server, net.socket("hospital") as client:
            sender = threading.Thread(target=lambda: _send_all(server, payload))
            sender.start()
            client.connect((net.address("server"), 443))
            started, got = time.monotonic(), 0
            while got < len(payload):
                chunk = client.recv(65536)
                if not chunk:
                    break
                got += len(chunk)
            sender.join(30)
            assert got == len(payload)
            return time.monotonic() - started

    assert download() >= 1.0
    net.unlimit("hospital")
    assert "tbf" not in net.run("wan", "tc", "qdisc", "show").stdout


def _send_all(server: socket.socket, payload: bytes) -> None:
    connection, _ = server.accept()
    with connection:
        connection.sendall(payload)


def test_no_namespace_of_this_process_is_left() -> None:
    ours = [name for name in namespaces() if name.startswith(f"jn{os.getpid()}x")]
    assert ours == []
