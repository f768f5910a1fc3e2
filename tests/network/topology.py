"""What a test network looks like, as plain data: sites, their addresses, and firewall rules.

Nothing here runs a command; `tests.network.netns` turns these descriptions into `ip`, `tc` and
`iptables` calls. A network is a star: one router namespace ("the internet") and one namespace
per site (the hospital, the servers, the TURN host, a remote peer), each joined to the router by
a veth pair on its own /24 from 198.18.0.0/15 (RFC 2544's benchmark range, never routed
outside a lab). The site's end is `wan0` at `198.18.<n>.2`, the router's end is named after the
site at `198.18.<n>.1` and is the site's default gateway.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

SITE_LINK = "wan0"  # the site's end of its veth, inside the site's namespace
FIRST_SUBNET = ipaddress.IPv4Network("198.18.1.0/24")
TEST_RANGE = ipaddress.IPv4Network("198.18.0.0/15")


@dataclass(frozen=True)
class Site:
    """One namespace behind the router: `address` is its own, `gateway` the router's end."""

    name: str
    index: int  # its subnet is 198.18.<index>.0/24

    @property
    def subnet(self) -> ipaddress.IPv4Network:
        network = ipaddress.IPv4Network(f"198.18.{self.index}.0/24")
        assert network.subnet_of(TEST_RANGE)
        return network

    @property
    def address(self) -> str:
        return str(self.subnet.network_address + 2)

    @property
    def gateway(self) -> str:
        return str(self.subnet.network_address + 1)

    @property
    def router_link(self) -> str:
        """The router's end of the site's veth (an interface name: at most 15 characters)."""
        return self.name[:15]


@dataclass(frozen=True)
class Topology:
    """A router and the sites attached to it, namespaces named `<prefix><site>`."""

    prefix: str
    sites: tuple[Site, ...]
    router: str = "wan"

    @classmethod
    def star(cls, prefix: str, *names: str) -> Topology:
        """Sites numbered from 198.18.1.0/24 on, in the order given."""
        if len(set(names)) != len(names) or "wan" in names:
            raise ValueError(f"site names must be distinct and not 'wan': {names}")
        return cls(prefix, tuple(Site(name, i) for i, name in enumerate(names, start=1)))

    def namespace(self, site: str) -> str:
        """The namespace of a site (or of the router, `"wan"`)."""
        if site != self.router:
            self.site(site)
        return f"{self.prefix}{site}"

    def site(self, name: str) -> Site:
        for site in self.sites:
            if site.name == name:
                return site
        raise KeyError(f"no site {name!r} in {[s.name for s in self.sites]}")

    def namespaces(self) -> list[str]:
        return [self.namespace(self.router)] + [self.namespace(s.name) for s in self.sites]


# ---------------------------------------------------------------- firewalls


@dataclass(frozen=True)
class Allow:
    """Outgoing traffic a firewall lets through: a protocol, optionally to one host and port."""

    protocol: str  # "tcp", "udp" or "all"
    host: str | None = None
    port: int | None = None

    def match(self) -> list[str]:
        """This allowance as iptables match arguments."""
        args: list[str] = []
        if self.protocol != "all":
            args += ["-p", self.protocol]
        if self.host is not None:
            args += ["-d", self.host]
        if self.port is not None:
            if self.protocol not in {"tcp", "udp"}:
                raise ValueError("a port needs a protocol (tcp or udp)")
            args += ["--dport", str(self.port)]
        return args


@dataclass(frozen=True)
class Admit:
    """Incoming traffic a firewall lets in: a protocol, optionally from one host, to a port."""

    protocol: str  # "tcp" or "udp"
    source: str | None = None
    port: int | None = None

    def match(self) -> list[str]:
        args = ["-p", self.protocol]
        if self.source is not None:
            args += ["-s", self.source]
        if self.port is not None:
            args += ["--dport", str(self.port)]
        return args


@dataclass(frozen=True)
class Firewall:
    """A site's own stateful firewall: what it may open (`allowed`) and what others may open
    towards it (`admitted`); replies come back; nothing else enters or leaves (loopback aside)."""

    name: str
    allowed: tuple[Allow, ...]
    admitted: tuple[Admit, ...] = ()

    def rules(self) -> list[list[str]]:
        """The iptables commands (arguments after `iptables`) of the filter table, in order."""
        rules: list[list[str]] = [
            ["-P", "INPUT", "DROP"],
            ["-P", "OUTPUT", "DROP"],
            ["-P", "FORWARD", "DROP"],
            ["-A", "INPUT", "-i", "lo", "-j", "ACCEPT"],
            ["-A", "OUTPUT", "-o", "lo", "-j", "ACCEPT"],
            ["-A", "INPUT", *_ESTABLISHED, "-j", "ACCEPT"],
            ["-A", "OUTPUT", *_ESTABLISHED, "-j", "ACCEPT"],
        ]
        rules += [["-A", "OUTPUT", *allow.match(), "-j", "ACCEPT"] for allow in self.allowed]
        rules += [["-A", "INPUT", *admit.match(), "-j", "ACCEPT"] for admit in self.admitted]
        return rules


_ESTABLISHED = ["-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED"]


def hospital_firewall(kind: str, *, web: str, turn: str) -> Firewall:
    """A hospital's outgoing rules: the web server (HTTPS port, which carries the pages and
    socket.io) always; for media nothing but the TURN host, and of it:

    - `open`: every protocol and port;
    - `udp-blocked`: TCP only (TURN over TCP on 3478, TLS on 443);
    - `tcp-443-only`: TCP port 443 only, to any host (TURN over TLS on 443);
    - `symmetric-nat`: everything (the site is behind `symmetric_nat` instead).
    """
    https = Allow("tcp", web, 443)
    choices = {
        "open": (https, Allow("all", turn)),
        "udp-blocked": (https, Allow("tcp", turn)),
        "tcp-443-only": (Allow("tcp", None, 443),),
        "symmetric-nat": (Allow("all"),),
    }
    if kind not in choices:
        raise ValueError(f"unknown firewall {kind!r}; one of {sorted(choices)}")
    return Firewall(kind, choices[kind])


def media_node_firewall(*, turn: str) -> Firewall:
    """The servers' site as a deployment behind coturn has it: anyone may open the web server
    (443), media (UDP) comes in only from the TURN host, and the site may reach anything."""
    return Firewall(
        "media-behind-turn", (Allow("all"),), (Admit("tcp", None, 443), Admit("udp", turn))
    )


# ---------------------------------------------------------------- the router's rules


def symmetric_nat(site: Site) -> list[list[str]]:
    """Router rules (iptables arguments, `-t` included) hiding `site` behind a NAT that gives
    each new destination its own random outside port (endpoint-dependent mapping) and lets in
    only replies to what the site sent: its host and server-reflexive candidates reach nobody
    who is behind a NAT too, so only relayed candidates connect."""
    return [
        [
            "-t",
            "nat",
            "-A",
            "POSTROUTING",
            "-s",
            str(site.subnet),
            "!",
            "-o",
            site.router_link,
            "-j",
            "MASQUERADE",
            "--random-fully",
        ],
        ["-A", "FORWARD", "-o", site.router_link, *_ESTABLISHED, "-j", "ACCEPT"],
        ["-A", "FORWARD", "-o", site.router_link, "-j", "DROP"],
    ]


def cut(site: Site) -> list[list[str]]:
    """Router rules dropping everything to and from `site` (its line is cut upstream; the
    site's own interface stays up, as when a hospital's provider fails)."""
    return [
        ["-I", "FORWARD", "1", "-i", site.router_link, "-j", "DROP"],
        ["-I", "FORWARD", "1", "-o", site.router_link, "-j", "DROP"],
    ]


def undo(rule: list[str]) -> list[str]:
    """The iptables arguments deleting a rule that `rule` (an -A or -I FORWARD 1) added."""
    table = rule[:2] if rule[:1] == ["-t"] else []
    rest = rule[len(table) :]
    action, chain, *spec = rest
    if action == "-I" and spec and spec[0].isdigit():
        spec = spec[1:]
    if action not in {"-A", "-I"}:
        raise ValueError(f"only added rules can be undone: {rule}")
    return [*table, "-D", chain, *spec]


def random_loss(site: Site, probability: float, *, direction: str = "down") -> list[str]:
    """A router rule dropping each packet towards (`down`) or from (`up`) `site` with
    `probability`, independently (iptables' statistic match)."""
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"a probability is between 0 and 1, not {probability}")
    side = {"down": "-o", "up": "-i"}[direction]
    return [
        "-I",
        "FORWARD",
        "1",
        side,
        site.router_link,
        "-m",
        "statistic",
        "--mode",
        "random",
        "--probability",
        f"{probability:.4f}",
        "-j",
        "DROP",
    ]


def token_bucket(
    rate_kbit: int, *, burst_bytes: int | None = None, latency_ms: int = 50
) -> list[str]:
    """`tc qdisc` arguments (after `dev X root`) limiting a link's egress to `rate_kbit` with a
    token bucket filter. The bucket holds at least one full-size packet and about 10 ms of the
    rate (tbf needs burst >= rate/HZ); packets waiting longer than `latency_ms` are dropped,
    which is how a congested access link behaves."""
    if rate_kbit <= 0:
        raise ValueError("a rate is positive")
    burst = burst_bytes if burst_bytes is not None else max(1600, rate_kbit * 1000 // 8 // 100)
    return ["tbf", "rate", f"{rate_kbit}kbit", "burst", str(burst), "latency", f"{latency_ms}ms"]
