"""Moderator controls (`moderate`): admit or refuse someone waiting, remove someone from the
call, mute them or lower their hand. Only a grant that may moderate may use them.

A refused or removed peer's token is barred, and a removed person comes back only through the
waiting room; a removed guest's invite link is revoked (nobody comes back with it). Revoking a
link from the web app removes the guests in the call with it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from .connection import Connections, Member
from .errors import SignalingError
from .grace import Graces
from .grants import CLOCK_SKEW, MAX_TTL, RoomKind
from .guests import LINK_MAX_TTL
from .membership import Membership
from .presence import Presence
from .protocol import ModeratePayload, ok
from .recording_session import RecordingSessions
from .roomstate import PeerRecord, RoomState
from .sfu_session import SfuSessions
from .sockets import CallSockets

log = logging.getLogger("junta.signaling")


class Moderation:
    """Applies moderators' actions to the peers of their call."""

    def __init__(
        self,
        *,
        state: RoomState,
        connections: Connections,
        sockets: CallSockets,
        presence: Presence,
        membership: Membership,
        graces: Graces,
        sfu: SfuSessions,
        recording: RecordingSessions,
        clock: Callable[[], float],
    ) -> None:
        self._state = state
        self._connections = connections
        self._sockets = sockets
        self._presence = presence
        self._membership = membership
        self._graces = graces
        self._sfu = sfu
        self._recording = recording
        self._clock = clock

    async def moderate(self, m: Member, p: ModeratePayload) -> dict[str, Any]:
        if not m.grant.moderate:
            raise SignalingError("forbidden", "the grant does not allow moderation")
        target = await self._state.get_peer(m.room, p.target)
        for_waiting = p.action in ("admit", "refuse")
        if target is None or target.admitted == for_waiting:
            where = "in the waiting room" if for_waiting else "in the call"
            raise SignalingError("peer_not_found", f"no such peer {where}")
        if p.action == "remove" and p.target == m.peer_id:
            raise SignalingError("invalid_payload", "target: use leave to leave the room")
        log.info("signaling.moderate room=%s by=%s action=%s target=%s", m.room, m.peer_id,
                 p.action, p.target)
        notice = {"action": p.action, "target": p.target, "by": m.peer_id}
        if p.action == "admit":
            await self._admit(m.room, m.grant.room_kind, target)
        elif p.action in ("refuse", "remove"):
            await self._expel(m.room, target, notice)
        else:
            change = {"audio": False} if p.action == "mute" else {"hand": False}
            updated = await self._state.update_peer(m.room, p.target, state=change)
            if updated is not None:
                await self._sockets.to_socket(updated.sid, "moderated", notice)
                await self._presence.state_changed(m.room, updated.peer)
        return ok()

    async def revoke_link(self, room: str, link_id: str, until: float) -> None:
        """Refuse the guest link `link_id` until `until`, and put out of the room (call and
        waiting room) the guests who came with it."""
        await self._state.revoke_link(room, link_id, until)
        await self._expel_guests(room, lambda record: record.link_id == link_id, None)

    async def end_guest_visits(self, room: str, reason: str) -> int:
        """Put every guest out of the room (call and waiting room), telling them `reason`;
        how many there were. Their links are revoked as by a removal."""
        return await self._expel_guests(room, lambda record: record.link_id is not None, reason)

    async def _expel_guests(
        self, room: str, which: Callable[[PeerRecord], bool], reason: str | None
    ) -> int:
        expelled = 0
        for record in await self._state.list_peers(room):
            if not which(record):
                continue
            log.info("signaling.guest_out room=%s target=%s reason=%s", room,
                     record.peer.peer_id, reason or "link_revoked")
            notice: dict[str, Any] = {
                "action": "remove" if record.admitted else "refuse",
                "target": record.peer.peer_id,
                "by": None,
            }
            if reason is not None:
                notice["reason"] = reason
            await self._expel(room, record, notice)
            expelled += 1
        return expelled

    async def _admit(self, room: str, kind: RoomKind, target: PeerRecord) -> None:
        record = await self._state.update_peer(room, target.peer.peer_id, admitted=True)
        if record is None:
            raise SignalingError("peer_not_found", "no such peer in the waiting room")
        await self._sockets.enter(record.sid, room, record.peer.moderator)
        # Its grant is on its socket, which another process may hold: then assume it may.
        conn = self._connections.get(record.sid)
        may_subscribe = conn.grant.subscribe if conn and conn.grant else True
        await self._sfu.admitted(room, kind, record.peer.peer_id, may_subscribe, record.sid)
        await self._recording.admitted(room, record.peer.peer_id)
        await self._sockets.to_socket(
            record.sid, "admitted", await self._membership.joined(room, record)
        )
        await self._presence.joined(room, record.peer, record.sid)
        await self._presence.waiting_removed(room, record.peer.peer_id)
        await self._presence.report("admitted", room, record.peer)
        await self._presence.report("joined", room, record.peer)

    async def _expel(self, room: str, target: PeerRecord, notice: dict[str, Any]) -> None:
        peer_id = target.peer.peer_id
        await self._sockets.to_socket(target.sid, "moderated", notice)
        # The token cannot outlive this bound, so neither need its bar.
        until = self._clock() + MAX_TTL + CLOCK_SKEW
        await self._state.bar(room, f"token:{target.token_id}", until)
        if target.admitted:
            await self._state.bar(room, f"user:{target.peer.user_id}", math.inf)
            if target.link_id is not None:
                # A new name on the same link is a new guest: the link itself goes.
                await self._state.revoke_link(room, target.link_id, self._clock() + LINK_MAX_TTL)
        await self._state.remove_peer(room, peer_id)
        await self._graces.cancel(room, peer_id)
        if target.admitted:
            await self._sockets.exit(target.sid, room)
            await self._membership.departed(room, target.peer, "removed", "removed")
        else:
            await self._presence.waiting_removed(room, peer_id)
            await self._presence.report("refused", room, target.peer)
        if target.peer.connected:
            await self._sockets.disconnect(target.sid)
