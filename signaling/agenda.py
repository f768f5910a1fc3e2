"""The case panel's agenda position (PROTOCOL.md, "The agenda"): the chair moves, everyone follows.

A review session's call shows the case under discussion beside the video. Signaling carries only
the position on the session's agenda (an integer): each page fetches the case itself from the web
API, which authorizes and audits the read, so no clinical text crosses signaling or its logs.
The position lives in `RoomState` (any process answers a joiner) and ends with the call.
"""

from __future__ import annotations

import logging
from typing import Any

from .errors import SignalingError
from .grants import JoinGrant
from .protocol import AgendaPayload, ok
from .roomstate import RoomState
from .sfu_session import ToRoom

log = logging.getLogger("junta.signaling.agenda")


class Agendas:
    """Each room's agenda position: moved by a moderator, told to everyone in the room."""

    def __init__(self, *, state: RoomState, to_room: ToRoom) -> None:
        self.state = state
        self._to_room = to_room

    async def current(self, room: str) -> int | None:
        """The position for a join ack: None until the chair first moves."""
        return await self.state.get_agenda(room)

    async def move(
        self, room: str, grant: JoinGrant, peer_id: str, p: AgendaPayload
    ) -> dict[str, Any]:
        """`agenda {item}`: only a moderator (the session's chair is its room's moderator)."""
        if not grant.moderate:
            raise SignalingError("forbidden", "only a moderator moves the agenda")
        if not await self.state.set_agenda(room, p.item):
            raise SignalingError("not_joined", "join first")
        log.info("signaling.agenda room=%s by=%s item=%d", room, peer_id, p.item)
        # To everyone, the mover included: every page renders from the event, in order.
        await self._to_room(room, "agenda", {"item": p.item, "by": peer_id}, None)
        return ok(item=p.item)
