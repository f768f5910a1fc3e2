"""The in-call chat (`chat`): a message goes to everyone in the call and into its history."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .connection import Member
from .protocol import ChatMessage, ChatPayload, ok, wire
from .roomstate import RoomState
from .sockets import CallSockets

log = logging.getLogger("junta.signaling")


class Chat:
    """Stamps, stores and broadcasts chat messages."""

    def __init__(
        self, *, state: RoomState, sockets: CallSockets, clock: Callable[[], float]
    ) -> None:
        self._state = state
        self._sockets = sockets
        self._clock = clock

    async def send(self, m: Member, p: ChatPayload) -> dict[str, Any]:
        message = ChatMessage(
            id=uuid.uuid4().hex, peer_id=m.peer_id, name=m.record.peer.name, text=p.text,
            at=datetime.fromtimestamp(self._clock(), UTC),
        )
        await self._state.add_chat(m.room, message)
        await self._sockets.to_room(m.room, "chat", wire(message))
        # The length only: the text may hold patient data, which never goes to the log.
        log.info("signaling.chat room=%s peer=%s length=%d", m.room, m.peer_id, len(p.text))
        return ok(message=wire(message))
