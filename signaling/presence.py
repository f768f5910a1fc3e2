"""What a call hears of its peers coming and going (PROTOCOL.md): `peer-joined`, `peer-state`,
`peer-left`, and the waiting list its moderators see; and the call events reported to the
audit trail. Lecture viewers are not announced one by one (`Lectures.announce`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

from .events import CallEvent, CallEventKind, OnCallEvent
from .lecture import Lectures
from .protocol import Peer, wire
from .roomstate import RoomState
from .sockets import CallSockets

log = logging.getLogger("junta.signaling")


class Presence:
    """Announces peers to their call and reports call events."""

    def __init__(
        self,
        *,
        state: RoomState,
        sockets: CallSockets,
        lecture: Lectures,
        on_event: OnCallEvent | None,
        clock: Callable[[], float],
    ) -> None:
        self._state = state
        self._sockets = sockets
        self._lecture = lecture
        self._on_event = on_event
        self._clock = clock

    async def waiting_added(self, room: str, peer: Peer) -> None:
        """Tell the room's moderators that `peer` waits to be admitted (again, after a rejoin).
        Only the change goes out: a list sent whole on every arrival would make each knock
        cost as much as the waiting room is long (issue 20); moderators get the whole list in
        their join ack."""
        await self._sockets.to_moderators(room, "waiting", {"added": [wire(peer)], "removed": []})

    async def waiting_removed(self, room: str, peer_id: str) -> None:
        """Tell the room's moderators that `peer_id` is no longer waiting."""
        await self._sockets.to_moderators(room, "waiting", {"added": [], "removed": [peer_id]})

    async def joined(self, room: str, peer: Peer, skip_sid: str) -> None:
        if self._lecture.announce(room, peer):
            await self._sockets.to_room(room, "peer-joined", wire(peer), skip_sid)

    async def state_changed(self, room: str, peer: Peer) -> None:
        if not self._lecture.announce(room, peer):
            return
        await self._sockets.to_room(
            room,
            "peer-state",
            {"peer_id": peer.peer_id, "state": wire(peer.state), "connected": peer.connected},
        )

    async def left(
        self, room: str, peer: Peer, reason: Literal["left", "timeout", "removed"]
    ) -> None:
        if self._lecture.announce(room, peer):
            await self._sockets.to_room(room, "peer-left",
                                        {"peer_id": peer.peer_id, "reason": reason})

    async def report(self, kind: CallEventKind, room: str, peer: Peer) -> None:
        """Tell the audit trail (`on_event`); its failure never breaks the call."""
        if self._on_event is None:
            return
        at = datetime.fromtimestamp(self._clock(), UTC)
        try:
            await self._on_event(CallEvent(kind, room, peer.user_id, peer.peer_id, at))
        except Exception as exc:
            # The audit trail failing must not break the call; it logs its own details.
            log.error("signaling.on_event_failed kind=%s room=%s error=%s", kind, room,
                      type(exc).__name__)
