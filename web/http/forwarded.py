"""The client's address behind reverse proxies: `X-Forwarded-For`, believed only as far as the
proxies named in JUNTA_TRUSTED_PROXIES. Pure functions.

Without trusted proxies every request behind nginx comes from nginx's address, and one address
throttles, locks out and audits the whole network. A client can write any `X-Forwarded-For` it
likes, so the header is read only when the connection comes from a trusted proxy, and walked
from the right (each proxy appends the address it saw) past the trusted proxies only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

Network = IPv4Network | IPv6Network


def parse_proxies(value: str) -> tuple[Network, ...]:
    """The networks of a comma-separated list of addresses and CIDRs; ValueError names a bad one."""
    networks = []
    for entry in (part.strip() for part in value.split(",")):
        if not entry:
            continue
        try:
            networks.append(ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network") from None
    return tuple(networks)


def _address(entry: str) -> IPv4Address | IPv6Address | None:
    entry = entry.strip()
    if entry.startswith("["):  # "[2001:db8::1]:443"
        entry = entry[1:].partition("]")[0]
    elif entry.count(":") == 1:  # "203.0.113.5:5678"
        entry = entry.partition(":")[0]
    try:
        return ip_address(entry)
    except ValueError:
        return None


def _trusted(address: IPv4Address | IPv6Address, proxies: Sequence[Network]) -> bool:
    return any(address in network for network in proxies)


def resolve_client(
    remote: str | None, forwarded_for: Iterable[str], proxies: Sequence[Network]
) -> str:
    """The client's address: the nearest hop, walking back from the connection's peer through
    `X-Forwarded-For` (all its headers, in order), that no trusted proxy stands for."""
    if remote is None:
        return "unknown"
    peer = _address(remote)
    if not proxies or peer is None or not _trusted(peer, proxies):
        return remote
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    client = peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:  # garbage: the proxy that passed it on is as far as we can see
            break
        client = address
        if not _trusted(address, proxies):
            break
    return str(client)
