"""Test networks made of Linux network namespaces: `Network` builds a `Topology`, changes it
while a test runs (firewalls, NAT, a cut line, bandwidth, loss) and removes it.

Everything lives inside namespaces this module made, named `jn<pid>x<n>-<site>`: the veths are
created directly in them and never appear in the host's namespace, and iptables and tc rules
are per namespace, so the host's own network is never touched and deleting the namespaces
removes every link and rule with them. Namespaces whose process is gone (a run killed before
its teardown) are removed by `remove_stale` when the next network is built.

    with Network.build("hospital", "server", "turn") as net:
        net.run("hospital", "ip", "addr")               # a command inside a site
        net.firewall("hospital", hospital_firewall("udp-blocked", web=..., turn=...))
        net.limit_downlink("hospital", 512)              # kbit/s, token bucket on the router
        net.add_loss("hospital", 0.05)                   # 5 % of the packets towards it
        with net.cut_line("hospital"):                   # nothing in or out meanwhile
            ...

A process joins a site with `ip netns exec` (`net.command(site, ...)`, `net.wrapper(...)` for a
program another tool starts, such as Chromium for Playwright); a thread of the test process
joins one with `enter_namespace` (only that thread moves, and the threads it starts later),
and `net.socket(site)` is a socket opened there that the test may use from any thread.
Needs root, `ip`, `tc` and `iptables` (`tests.network.requirements`).
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import re
import shlex
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from tests.network.topology import (
    SITE_LINK,
    Firewall,
    Topology,
    cut,
    random_loss,
    symmetric_nat,
    token_bucket,
    undo,
)

NETNS_DIR = Path("/run/netns")
_STALE = re.compile(r"^jn(\d+)x\d+-")
_counter = itertools.count()
_CLONE_NEWNET = 0x40000000


class NetworkError(RuntimeError):
    """A command that builds or changes the test network failed (its stderr included)."""


def _sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    if check and done.returncode != 0:
        raise NetworkError(f"{shlex.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return done


def enter_namespace(namespace: str) -> None:
    """Move the calling thread (not the process) into a network namespace: sockets it opens
    from now on, and threads it starts, live there."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(NETNS_DIR / namespace, os.O_RDONLY)
    try:
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns into {namespace}: {os.strerror(errno)}")
    finally:
        os.close(fd)


def socket_in(namespace: str, kind: int = socket.SOCK_STREAM) -> socket.socket:
    """A new IPv4 socket that lives in `namespace` (made by a short-lived thread that enters
    it); any thread may use it afterwards."""
    made: list[socket.socket | BaseException] = []

    def make() -> None:
        try:
            enter_namespace(namespace)
            made.append(socket.socket(socket.AF_INET, kind))
        except BaseException as error:
            made.append(error)

    thread = threading.Thread(target=make, name=f"netns-{namespace}")
    thread.start()
    thread.join(30)
    if not made:
        raise NetworkError(f"no socket made in {namespace}")
    if isinstance(made[0], BaseException):
        raise made[0]
    return made[0]


def namespaces() -> list[str]:
    """The names of the host's named network namespaces."""
    return [line.split()[0] for line in _sh("ip", "netns", "list").stdout.splitlines() if line]


def _alive(pid: int) -> bool:
    """Whether `pid` still runs (a zombie, ended but not yet reaped by its parent, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _remove_namespace(namespace: str) -> None:
    """End what still runs in `namespace` (our own processes: it is ours), then delete it."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = [int(p) for p in _sh("ip", "netns", "pids", namespace, check=False).stdout.split()]
        pids = [pid for pid in pids if pid != os.getpid()]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        for _ in range(50):
            if not any(_alive(pid) for pid in pids):
                break
            time.sleep(0.1)
    _sh("ip", "netns", "delete", namespace, check=False)


def remove_stale() -> list[str]:
    """Delete namespaces of this module whose test process has died; returns their names."""
    stale = [
        name
        for name in namespaces()
        if (match := _STALE.match(name)) and not _alive(int(match.group(1)))
    ]
    for name in stale:
        _remove_namespace(name)
    return stale


class Network:
    """A built `Topology`; `close()` (or leaving the `with`) removes all of it."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self._made: list[str] = []
        self._router_rules: list[list[str]] = []

    @classmethod
    def build(cls, *sites: str) -> Network:
        """A router and these sites, under a prefix of this process's own; stale networks of
        dead runs are removed first. On failure, whatever was made is removed again."""
        remove_stale()
        prefix = f"jn{os.getpid()}x{next(_counter)}-"
        network = cls(Topology.star(prefix, *sites))
        try:
            network._up()
        except BaseException:
            network.close()
            raise
        return network

    def __enter__(self) -> Network:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- building and removing ---------------------------------------------------------------

    def _up(self) -> None:
        top = self.topology
        router = top.namespace(top.router)
        for namespace in top.namespaces():
            _sh("ip", "netns", "add", namespace)
            self._made.append(namespace)
            _sh("ip", "-n", namespace, "link", "set", "lo", "up")
        _sh("ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for site in top.sites:
            namespace = top.namespace(site.name)
            _sh(
                "ip",
                "link",
                "add",
                site.router_link,
                "netns",
                router,
                "type",
                "veth",
                "peer",
                "name",
                SITE_LINK,
                "netns",
                namespace,
            )
            _sh("ip", "-n", router, "addr", "add", f"{site.gateway}/24", "dev", site.router_link)
            _sh("ip", "-n", namespace, "addr", "add", f"{site.address}/24", "dev", SITE_LINK)
            _sh("ip", "-n", router, "link", "set", site.router_link, "up")
            _sh("ip", "-n", namespace, "link", "set", SITE_LINK, "up")
            _sh("ip", "-n", namespace, "route", "add", "default", "via", site.gateway)

    def close(self) -> None:
        """End the processes left in the namespaces and delete them (links and rules go with
        them). Idempotent; never raises for what is already gone."""
        for namespace in reversed(self._made):
            _remove_namespace(namespace)
        self._made.clear()

    # --- inside a site -------------------------------------------------------------------------

    def namespace(self, site: str) -> str:
        return self.topology.namespace(site)

    def address(self, site: str) -> str:
        """The site's own address (198.18.<n>.2)."""
        return self.topology.site(site).address

    def command(self, site: str, *argv: str) -> list[str]:
        """`argv` run inside a site (for `subprocess`)."""
        return ["ip", "netns", "exec", self.namespace(site), *argv]

    def run(self, site: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return _sh(*self.command(site, *argv), check=check)

    def socket(self, site: str, kind: int = socket.SOCK_STREAM) -> socket.socket:
        """A socket in a site (`socket_in`), for probing the network from the test."""
        return socket_in(self.namespace(site), kind)

    def wrapper(
        self, site: str, program: str, path: Path, env: dict[str, str] | None = None
    ) -> Path:
        """An executable script at `path` that runs `program "$@"` inside a site (with `env`
        set), for a tool that wants a program's path, such as Playwright's `executable_path`."""
        exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in (env or {}).items())
        path.write_text(
            f"#!/bin/sh\n{exports}exec ip netns exec {shlex.quote(self.namespace(site))} "
            f'{shlex.quote(program)} "$@"\n'
        )
        path.chmod(0o755)
        return path

    def iptables(self, site: str, rule: Sequence[str]) -> None:
        self.run(site, "iptables", "-w", *rule)

    def firewall(self, site: str, firewall: Firewall) -> None:
        """Give a site its own firewall (replacing none: call once per site)."""
        for rule in firewall.rules():
            self.iptables(site, rule)

    # --- on the router -------------------------------------------------------------------------

    def _router(self, rule: list[str]) -> None:
        self.iptables(self.topology.router, rule)

    def symmetric_nat(self, site: str) -> None:
        """Put a site behind a NAT with a new random outside port per destination."""
        for rule in symmetric_nat(self.topology.site(site)):
            self._router(rule)

    def cut(self, site: str) -> None:
        """Drop everything to and from a site on the router, until `restore`."""
        for rule in cut(self.topology.site(site)):
            self._router(rule)

    def restore(self, site: str) -> None:
        for rule in cut(self.topology.site(site)):
            self._router(undo(rule))

    @contextlib.contextmanager
    def cut_line(self, site: str) -> Iterator[None]:
        """The site's line is cut inside the `with` and restored when it ends, however."""
        self.cut(site)
        try:
            yield
        finally:
            self.restore(site)

    def add_loss(self, site: str, probability: float, *, direction: str = "down") -> list[str]:
        """Drop each packet towards (`down`) or from (`up`) a site with `probability`; returns
        the rule for `remove_loss`."""
        rule = random_loss(self.topology.site(site), probability, direction=direction)
        self._router(rule)
        return rule

    def remove_loss(self, rule: list[str]) -> None:
        self._router(undo(rule))

    def limit_downlink(
        self, site: str, rate_kbit: int, *, burst_bytes: int | None = None, latency_ms: int = 50
    ) -> None:
        """Limit what reaches a site to `rate_kbit` (a token bucket on the router's side of its
        link; see `topology.token_bucket`). Calling again changes the limit."""
        link = self.topology.site(site).router_link
        self._tc(
            self.topology.router,
            link,
            token_bucket(rate_kbit, burst_bytes=burst_bytes, latency_ms=latency_ms),
        )

    def limit_uplink(
        self, site: str, rate_kbit: int, *, burst_bytes: int | None = None, latency_ms: int = 50
    ) -> None:
        """Limit what a site sends to `rate_kbit` (the token bucket on its own `wan0`)."""
        self._tc(
            site, SITE_LINK, token_bucket(rate_kbit, burst_bytes=burst_bytes, latency_ms=latency_ms)
        )

    def unlimit(self, site: str) -> None:
        """Remove both limits of a site (no error when there was none)."""
        link = self.topology.site(site).router_link
        self.run(self.topology.router, "tc", "qdisc", "del", "dev", link, "root", check=False)
        self.run(site, "tc", "qdisc", "del", "dev", SITE_LINK, "root", check=False)

    def _tc(self, where: str, link: str, qdisc: list[str]) -> None:
        self.run(where, "tc", "qdisc", "replace", "dev", link, "root", *qdisc)
