"""Guest lecturers' join grants: experts outside the network, invited by a signed link.

A guest has no account: `web` vouches for them (a valid invite link and the name they typed) and
asks for a grant here. The grant is bound to the link's room, always passes through the waiting
room, never outlives the link, and names the link: a link the moderator revoked, or whose guest
was removed from the call, lets nobody in any more (`RoomState.revoke_link`).
"""

from __future__ import annotations

from .grants import MAX_TTL, JoinGrant, RoomKind, issue_grant

GUEST_ROLE = "guest"
# The longest an invite link lives, hence how long a revocation must be remembered at most.
LINK_MAX_TTL = 7 * 24 * 3600


def guest_user_id(guest_id: str) -> str:
    """The grant subject of a guest: never the id of a real account (those are UUIDs)."""
    return f"guest:{guest_id}"


def issue_guest_grant(
    *, guest_id: str, name: str, room: str, room_kind: RoomKind, now: float, link_expires: int,
    link_id: str,
) -> JoinGrant:
    """A guest's grant for `room`: may publish (they lecture), waits to be admitted, and
    expires with the link at the latest. ValueError once the link has expired."""
    ttl = min(MAX_TTL, link_expires - int(now))
    if ttl <= 0:
        raise ValueError("the invite link has expired")
    return issue_grant(
        user_id=guest_user_id(guest_id), name=name, room=room, role=GUEST_ROLE, now=now,
        publish=True, subscribe=True, moderate=False, admission=True, room_kind=room_kind,
        ttl=ttl, link_id=link_id,
    )
