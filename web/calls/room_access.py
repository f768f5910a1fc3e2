"""Who may enter a call room: its invitees. Everyone else gets 404, so rooms do not leak."""

from __future__ import annotations

from aiohttp import web

from casebook import accounts
from casebook.models import RoomInvite, User
from web.app.keys import SESSIONS
from web.http.auth import require_user
from web.http.errors import NotFound


async def require_invite(request: web.Request) -> tuple[User, RoomInvite]:
    """The signed-in user and their invitation to the room named in the URL (404 if none)."""
    user = require_user(request)
    async with request.app[SESSIONS]() as db:
        invite = await accounts.find_invite(db, request.match_info["room_id"], user.id)
    if invite is None:
        raise NotFound("no such room")
    return user, invite
