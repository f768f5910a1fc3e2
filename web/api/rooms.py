"""The JSON API of calls: joining a room."""

from __future__ import annotations

import time
from typing import cast, get_args

from aiohttp import web

from signaling.grants import RoomKind, issue_grant, sign_grant
from signaling.ice import IceConfig, stun_servers
from signaling.protocol import PROTOCOL_VERSION
from web.app.keys import CALL_NAMESPACE, SETTINGS
from web.app.settings import Settings
from web.calls.room_access import require_invite
from web.http.routes import ALL_ROLES, Route


def ice_config(settings: Settings) -> IceConfig:
    """The ICE servers of calls, as settings describe them."""
    return IceConfig(
        stun_urls=settings.stun_urls,
        turn_urls=settings.turn_urls,
        turn_secret=settings.turn_secret,
        turn_ttl=settings.turn_ttl,
    )


def room_kind(kind: str) -> RoomKind:
    """The grant's `room_kind` for a room's stored kind (the schema allows only these)."""
    if kind not in get_args(RoomKind):
        raise ValueError(f"unknown room kind {kind!r}")
    return cast(RoomKind, kind)


async def join_room(request: web.Request) -> web.Response:
    """A join token for an invited user (PROTOCOL.md, "Join token"); 404 for anyone else."""
    user, invite = await require_invite(request)
    settings = request.app[SETTINGS]
    now = time.time()
    grant = issue_grant(
        user_id=user.id,
        name=user.display_name,
        room=invite.room.id,
        role=user.role,
        now=now,
        # A lecture's viewers receive only, until a moderator promotes them (PROTOCOL.md).
        publish=invite.moderator or invite.room.kind != "lecture",
        subscribe=True,
        moderate=invite.moderator,
        admission=invite.room.requires_admission and not invite.moderator,
        room_kind=room_kind(invite.room.kind),
    )
    return web.json_response(
        {
            "token": sign_grant(grant, settings.secret_key),
            # TURN credentials come with admission, in the join ack (signaling/ice.py).
            "ice_servers": stun_servers(ice_config(settings)),
            "protocol": PROTOCOL_VERSION,
            "peer": {"user_id": user.id, "name": user.display_name},
            # Told before they enter: a page asks consent before it publishes anything.
            "recording": await request.app[CALL_NAMESPACE].recording.status(invite.room.id),
        },
        headers={"Cache-Control": "no-store"},
    )


def routes() -> list[Route]:
    """Joining a call room."""
    return [
        Route(
            "POST", "/api/rooms/{room_id}/join", join_room, name="api-join",
            summary="Join a call room",
            description=(
                "A short-lived signed join token, ICE servers (TURN credentials included) and "
                "the protocol version, for people invited to the room; 404 for anyone else."
            ),
            roles=ALL_ROLES, tag="calls",
        ),
    ]
