"""ICE servers for a joining user: STUN, and TURN with TURN REST API credentials.

coturn's `use-auth-secret` accepts username "<expiry unix seconds>:<user>" with password
base64(HMAC-SHA1(shared secret, username)), so no per-user TURN accounts exist anywhere.
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


def ice_servers(config: IceConfig, user_id: str, now: float) -> list[dict[str, Any]]:
    """The RTCIceServer list for the join answer."""
    servers: list[dict[str, Any]] = []
    if config.stun_urls:
        servers.append({"urls": list(config.stun_urls)})
    if config.turn_urls and config.turn_secret:
        username, credential = turn_credentials(
            config.turn_secret, user_id, int(now) + config.turn_ttl
        )
        servers.append(
            {"urls": list(config.turn_urls), "username": username, "credential": credential}
        )
    return servers
