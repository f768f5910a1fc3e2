"""ICE servers for a joining user: STUN, and TURN with TURN REST API credentials.

coturn's `use-auth-secret` accepts username "<expiry unix seconds>:<user>" with password
base64(HMAC-SHA1(shared secret, username)), so no per-user TURN accounts exist anywhere.

TURN credentials are a way into the servers' networks (as far as deploy/turnserver.conf lets
relays go), so only admitted peers get them: the join API hands out STUN only, and the join
ack or `admitted` adds TURN credentials that expire with the join grant the peer joined with.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class IceConfig:
    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str | None = None
    turn_ttl: int = 21600


def turn_credentials(secret: str, user_id: str, expiry: int) -> tuple[str, str]:
    """(username, credential) of the TURN REST API for `user_id` until `expiry`."""
    username = f"{expiry}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def stun_servers(config: IceConfig) -> list[dict[str, Any]]:
    """The RTCIceServer list for someone not admitted yet: STUN only."""
    return [{"urls": list(config.stun_urls)}] if config.stun_urls else []


def ice_servers(
    config: IceConfig, user_id: str, now: float, expires: int | None = None
) -> list[dict[str, Any]]:
    """The RTCIceServer list for an admitted peer: TURN credentials valid `turn_ttl` seconds,
    and never past `expires` (the expiry of the peer's join grant)."""
    servers = stun_servers(config)
    if config.turn_urls and config.turn_secret:
        expiry = int(now) + config.turn_ttl
        if expires is not None:
            expiry = min(expiry, expires)
        username, credential = turn_credentials(config.turn_secret, user_id, expiry)
        servers.append(
            {"urls": list(config.turn_urls), "username": username, "credential": credential}
        )
    return servers
