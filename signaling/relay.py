"""The relay of offers, answers and ICE candidates between two peers of a call (`signal`).

The hot path of signaling: the sender is checked without reading the room state, and the relay
costs one state read (the target's record) and one emit, whatever the backend.
"""

from __future__ import annotations

from typing import Any, cast

from .connection import Connection
from .counters import CallCounters
from .errors import SignalingError
from .grants import JoinGrant
from .protocol import SignalPayload, check_description, ok
from .roomstate import RoomState
from .sockets import CallSockets


class Relay:
    """Relays `signal` events to their target in the sender's call."""

    def __init__(self, *, state: RoomState, sockets: CallSockets, counters: CallCounters) -> None:
        self._state = state
        self._sockets = sockets
        self._counters = counters

    def sender(self, conn: Connection) -> JoinGrant:
        """The grant of a socket in its call, known without reading the room state: a socket
        is in its call's socket.io room exactly while its peer is admitted and its own. Every
        change of that, made by any process, reaches this one's manager (`CallSockets.enter`,
        `CallSockets.exit`, and the disconnect of a socket taken over, removed or refused)."""
        grant = conn.grant
        if grant is None or conn.peer_id is None:
            raise SignalingError("not_joined", "join first")
        if not self._sockets.in_call(conn.sid, grant.room):
            raise SignalingError("not_joined", "not in the call (still waiting, or removed)")
        return grant

    async def relay(self, conn: Connection, grant: JoinGrant, p: SignalPayload) -> dict[str, Any]:
        """`signal`: pass the payload on to its target, named as coming from the sender."""
        peer_id = cast(str, conn.peer_id)
        if not grant.may_signal:
            raise SignalingError("forbidden", "the grant allows neither publish nor subscribe")
        if p.description is not None:
            check_description(p.description)
        if p.to == peer_id:
            raise SignalingError("invalid_payload", "to: a peer cannot signal itself")
        target = await self._state.get_peer(grant.room, p.to)
        if target is None or not target.admitted:
            raise SignalingError("peer_not_found", "no such peer in this room")
        # While the target is reconnecting the signal is dropped; ICE restart recovers after.
        if target.peer.connected:
            await self._sockets.to_socket(target.sid, "signal", p.relayed(peer_id))
            self._counters.relayed += 1
        return ok()
