"""The JSON API of calls: joining a room."""

from __future__ import annotations

import time
from typing import Any, cast, get_args

from aiohttp import web
from pydantic import BaseModel

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


class JoinPeer(BaseModel):
    """Who the token lets in, as the room will show them."""

    user_id: str
    name: str


class RecordingNotice(BaseModel):
    """The room's recording (PROTOCOL.md, `Recording`): only `active` when none runs."""

    active: bool
    id: str | None = None
    since: str | None = None
    by: str | None = None
    notice_version: str | None = None
    recorded: list[str] | None = None


class JoinReply(BaseModel):
    """What a page needs to join a call room (PROTOCOL.md, "Join token")."""

    token: str
    # RTCIceServer dictionaries: STUN only until admission.
    ice_servers: list[dict[str, Any]]
    protocol: int
    peer: JoinPeer
    recording: RecordingNotice


def join_reply(
    token: str, settings: Settings, peer: JoinPeer, recording: dict[str, Any]
) -> web.Response:
    """The `JoinReply` of a member's or a guest's join."""
    return web.json_response(
        {
            "token": token,
            # TURN credentials come with admission, in the join ack (signaling/ice.py).
            "ice_servers": stun_servers(ice_config(settings)),
            "protocol": PROTOCOL_VERSION,
            "peer": peer.model_dump(),
            # Told before they enter: a page asks consent before it publishes anything.
            "recording": recording,
        },
        headers={"Cache-Control": "no-store"},
    )


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
    return join_reply(
        sign_grant(grant, settings.secret_key),
        settings,
        JoinPeer(user_id=user.id, name=user.display_name),
        await request.app[CALL_NAMESPACE].recording.status(invite.room.id),
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
            roles=ALL_ROLES, response=JoinReply, tag="calls",
        ),
    ]
