"""ICE servers for a joining user: STUN, and TURN with TURN REST API credentials.

coturn's `use-auth-secret` accepts username "<expiry unix seconds>:<user>" with password
base64(HMAC-SHA1(shared secret, username)), so no per-user TURN accounts exist anywhere.

TURN credentials are a way into the servers' networks (as far as deploy/turnserver.conf lets
relays go), so only admitted peers get them: the join API hands out STUN only, and the join
ack or `admitted` adds TURN credentials that expire with the join grant the peer joined with.
While it stays in the call a peer asks for fresh ones (the `ice` event): coturn checks them only
when a connection allocates a relay, so every new connection or ICE restart needs live ones.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from .grants import MAX_TTL

# Fresh credentials for a peer in the call live as long as a join grant does (and within
# `IceConfig.turn_ttl`), as those of its join ack usually do: the page asks again before then.
REFRESH_TTL = MAX_TTL


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
    expiry = turn_expiry(config, now, expires)
    if expiry is not None and config.turn_secret:
        username, credential = turn_credentials(config.turn_secret, user_id, expiry)
        servers.append(
            {"urls": list(config.turn_urls), "username": username, "credential": credential}
        )
    return servers


def turn_expiry(config: IceConfig, now: float, expires: int | None = None) -> int | None:
    """When the TURN credentials handed out at `now` expire (None without TURN): `turn_ttl`
    seconds from now, and never past `expires`."""
    if not (config.turn_urls and config.turn_secret):
        return None
    expiry = int(now) + config.turn_ttl
    return expiry if expires is None else min(expiry, expires)


def ice_answer(
    config: IceConfig, user_id: str, now: float, expires: int | None = None
) -> dict[str, Any]:
    """The `ice_servers` of an ack to an admitted peer, and `ice_expires_in`: seconds until its
    TURN credentials expire (None without TURN), so the page need not trust its own clock."""
    expiry = turn_expiry(config, now, expires)
    return {
        "ice_servers": ice_servers(config, user_id, now, expires),
        "ice_expires_in": None if expiry is None else max(0, expiry - int(now)),
    }
