"""Join grants: what the bearer of a join token may do in which room, signed with HMAC-SHA256.

Token = base64url(json(claims)) "." base64url(HMAC-SHA256(secret, first part)), unpadded.
`web` issues them; the signaling server is the only place that checks them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import SignalingError

GRANT_VERSION = 1
MAX_TTL = 300  # tokens live at most 5 minutes; a reconnecting client fetches a fresh one
CLOCK_SKEW = 30  # web and signaling may run on hosts whose clocks disagree a little
_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")

RoomKind = Literal["consultation", "board", "lecture"]


@dataclass(frozen=True)
class JoinGrant:
    user_id: str
    name: str
    room: str
    role: str
    publish: bool
    subscribe: bool
    moderate: bool
    admission: bool
    exp: int
    room_kind: RoomKind = "consultation"
    # The invite link a guest's grant comes from (signaling/guests.py): revoked with it.
    link_id: str | None = None

    @property
    def may_signal(self) -> bool:
        """Signalling sets up media, which only makes sense to someone sending or receiving it."""
        return self.publish or self.subscribe


class _Claims(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    v: int
    sub: str = Field(min_length=1, max_length=128)
    name: str = Field(max_length=200)
    room: str = Field(min_length=1, max_length=128)
    role: str = Field(max_length=64)
    publish: bool
    subscribe: bool
    moderate: bool
    admission: bool
    exp: int
    kind: RoomKind
    link: str | None = Field(default=None, min_length=1, max_length=64)


def issue_grant(
    *,
    user_id: str,
    name: str,
    room: str,
    role: str,
    now: float,
    publish: bool = True,
    subscribe: bool = True,
    moderate: bool = False,
    admission: bool = False,
    room_kind: RoomKind = "consultation",
    ttl: int = MAX_TTL,
    link_id: str | None = None,
) -> JoinGrant:
    """A grant expiring `ttl` seconds (at most 5 minutes) after `now`."""
    if not 0 < ttl <= MAX_TTL:
        raise ValueError(f"ttl must be in 1..{MAX_TTL}")
    return JoinGrant(user_id, name, room, role, publish, subscribe, moderate, admission,
                     int(now) + ttl, room_kind, link_id)


def sign_grant(grant: JoinGrant, secret: bytes) -> str:
    """Encode and sign a grant as a join token."""
    claims = {
        "v": GRANT_VERSION, "sub": grant.user_id, "name": grant.name, "room": grant.room,
        "role": grant.role, "publish": grant.publish, "subscribe": grant.subscribe,
        "moderate": grant.moderate, "admission": grant.admission, "exp": grant.exp,
        "kind": grant.room_kind,
    }
    if grant.link_id is not None:  # only guests' tokens carry it
        claims["link"] = grant.link_id
    body = _b64encode(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_b64encode(_mac(secret, body))}"


def verify_grant(token: str, secret: bytes, now: float) -> JoinGrant:
    """The grant a join token carries; SignalingError token_invalid or token_expired otherwise."""
    body, _, signature = token.partition(".")
    if not _B64URL.match(body) or not _B64URL.match(signature):
        raise SignalingError("token_invalid", "join token is malformed")
    try:
        given = _b64decode(signature)
    except (binascii.Error, ValueError):
        raise SignalingError("token_invalid", "join token is malformed") from None
    if not hmac.compare_digest(given, _mac(secret, body)):
        raise SignalingError("token_invalid", "join token signature does not match")
    try:
        claims = _Claims.model_validate_json(_b64decode(body))
    except (binascii.Error, ValueError, ValidationError):
        raise SignalingError("token_invalid", "join token claims are malformed") from None
    if claims.v != GRANT_VERSION:
        raise SignalingError("token_invalid", f"join token version {claims.v} is not supported")
    if now >= claims.exp:
        raise SignalingError("token_expired", "join token has expired")
    if claims.exp > now + MAX_TTL + CLOCK_SKEW:
        raise SignalingError("token_invalid", "join token lives longer than 5 minutes")
    return JoinGrant(claims.sub, claims.name, claims.room, claims.role, claims.publish,
                     claims.subscribe, claims.moderate, claims.admission, claims.exp,
                     claims.kind, claims.link)


def token_id(token: str) -> str:
    """A short stable id for a token (to revoke it) that is not itself a credential."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def _mac(secret: bytes, body: str) -> bytes:
    return hmac.new(secret, body.encode("ascii"), hashlib.sha256).digest()


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
