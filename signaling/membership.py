"""Who is in a call (PROTOCOL.md, "Joining" and "Reconnecting"): `join`, its ack, `leave`,
`state`, `ice` (fresh TURN credentials for those in the call), and what happens when a socket
drops: the reconnect grace, and its end.

A peer's record lives in `RoomState`; its socket in this process's `Connections`. The grace
timers live in `Graces` (in Redis they outlive this process), which call back here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal

from .agenda import Agendas
from .connection import Connection, Connections, Member
from .errors import SignalingError
from .events import CallEventKind
from .grace import Graces
from .grants import token_id, verify_grant
from .ice import REFRESH_TTL, IceConfig, ice_answer
from .lecture import Lectures, joins_as_audience
from .presence import Presence
from .protocol import PROTOCOL_VERSION, IcePayload, JoinPayload, Peer, PeerState, ok, wire
from .recording_session import RecordingSessions
from .roomstate import PeerRecord, RoomState
from .sfu_session import SfuSessions
from .sockets import CallSockets

log = logging.getLogger("junta.signaling")


class Membership:
    """Joins, leaves and lost sockets of the calls whose sockets this process holds."""

    def __init__(
        self,
        *,
        secret: bytes,
        state: RoomState,
        connections: Connections,
        sockets: CallSockets,
        presence: Presence,
        graces: Graces,
        reconnect_grace: float,
        sfu: SfuSessions,
        lecture: Lectures,
        recording: RecordingSessions,
        agenda: Agendas,
        clock: Callable[[], float],
        ice: IceConfig,
    ) -> None:
        self._secret = secret
        self._ice = ice
        self._state = state
        self._connections = connections
        self._sockets = sockets
        self._presence = presence
        self._graces = graces
        self._reconnect_grace = reconnect_grace
        self._sfu = sfu
        self._lecture = lecture
        self._recording = recording
        self._agenda = agenda
        self._clock = clock
        self.closing = False  # sockets closing at shutdown leave no timers behind
        graces.bind(on_expired=self.expire, on_orphaned=self.orphaned, on_reclaimed=self.reclaimed)

    # --- the sender of an event -----------------------------------------------------------

    async def current(self, conn: Connection) -> PeerRecord | None:
        """The record this socket joined as, unless it was removed or taken over since."""
        if conn.grant is None or conn.peer_id is None:
            return None
        record = await self._state.get_peer(conn.grant.room, conn.peer_id)
        return record if record is not None and record.sid == conn.sid else None

    async def member(self, conn: Connection, waiting_ok: bool) -> Member:
        """The socket's member, if it has joined (and been admitted, unless `waiting_ok`)."""
        record = await self.current(conn)
        if record is None or conn.grant is None:
            raise SignalingError("not_joined", "join first")
        if not record.admitted and not waiting_ok:
            raise SignalingError("not_joined", "still in the waiting room")
        return Member(conn, conn.grant, record)

    # --- join, state, leave ---------------------------------------------------------------

    async def join(self, conn: Connection, p: JoinPayload) -> dict[str, Any]:
        if await self.current(conn) is not None:
            raise SignalingError("already_joined", "this socket has joined already")
        if p.protocol != PROTOCOL_VERSION:
            raise SignalingError("protocol_mismatch", f"server speaks protocol {PROTOCOL_VERSION}")
        now = self._clock()
        grant = verify_grant(p.token, self._secret, now)
        room, tid = grant.room, token_id(p.token)
        if await self._state.is_barred(room, f"token:{tid}", now):
            raise SignalingError("forbidden", "this token was revoked (removed or refused)")
        if grant.link_id is not None and await self._state.is_link_revoked(
            room, grant.link_id, now
        ):
            raise SignalingError("forbidden", "this guest link was revoked")
        await self._sfu.check_available(grant)
        # Someone removed from this call comes back only through the waiting room.
        removed = await self._state.is_barred(room, f"user:{grant.user_id}", now)
        prev = await self._state.get_peer(room, p.peer_id)
        if prev is not None and prev.peer.user_id != grant.user_id:
            raise SignalingError("peer_id_taken", "peer_id belongs to another user in the room")
        peer_state = prev.peer.state if prev else PeerState()
        if p.state is not None:
            peer_state = peer_state.model_copy(update=p.state.model_dump(exclude_unset=True))
        peer = Peer(
            peer_id=p.peer_id, user_id=grant.user_id, name=grant.name, role=grant.role,
            moderator=grant.moderate, state=peer_state, connected=True,
            audience=prev.peer.audience if prev else joins_as_audience(grant),
        )
        # Someone already admitted stays admitted across reconnections.
        admitted = prev.admitted if prev else not (grant.admission or removed)
        record = PeerRecord(peer=peer, sid=conn.sid, admitted=admitted, token_id=tid,
                            grant_exp=grant.exp, link_id=grant.link_id)
        # One token, one participant: a copied token (or link) does not bring a second person.
        if (holder := await self._state.claim_peer(room, record)) is not None:
            log.info("signaling.token_in_use room=%s peer=%s holder=%s", room, p.peer_id, holder)
            raise SignalingError("token_in_use", "another peer in the room joined with this token")
        conn.grant, conn.peer_id = grant, p.peer_id
        await self._graces.held(room, p.peer_id, conn.sid)
        await self._graces.cancel(room, p.peer_id)
        if prev is not None and prev.sid != conn.sid and prev.peer.connected:
            # The page came back on a new socket before the server noticed the old one drop.
            await self._sockets.disconnect(prev.sid)
        log.info(
            "signaling.join room=%s peer=%s user=%s admitted=%s resumed=%s",
            room, p.peer_id, grant.user_id, admitted, prev is not None,
        )
        if not admitted:
            await self._presence.waiting_added(room, peer)
            return ok(status="waiting", self=wire(peer))
        await self._sockets.enter(conn.sid, room, grant.moderate)
        if prev is not None and prev.admitted:
            await self._presence.state_changed(room, peer)
            await self._sfu.resumed(room, p.peer_id)
        else:
            # A move to the SFU reaches the others before the newcomer who caused it.
            await self._sfu.admitted(room, grant.room_kind, p.peer_id, grant.subscribe, conn.sid)
            await self._recording.admitted(room, p.peer_id)
            await self._presence.joined(room, peer, conn.sid)
            await self._presence.report("joined", room, peer)
        return await self.joined(room, record)

    async def joined(self, room: str, record: PeerRecord) -> dict[str, Any]:
        """The `joined` ack, also sent as `admitted`: the first answer with TURN credentials."""
        records = await self._state.list_peers(room)
        me = record.peer.peer_id
        ack = ok(
            status="joined",
            self=wire(record.peer),
            peers=[wire(r.peer) for r in records
                   if r.admitted and r.peer.peer_id != me and not r.peer.audience],
            chat=[wire(m) for m in await self._state.chat_history(room)],
            mode=await self._sfu.mode(room),
            audience=await self._lecture.counts(room),
            recording=await self._recording.wire_for(room, me),
            agenda=await self._agenda.current(room),
            **ice_answer(self._ice, record.peer.user_id, self._clock(), expires=record.grant_exp),
        )
        if record.peer.moderator:
            ack["waiting"] = [wire(r.peer) for r in records if not r.admitted]
        return ack

    async def update_state(self, m: Member, p: PeerState) -> dict[str, Any]:
        """`state`: the peer changes its own state (microphone, camera, hand, screen)."""
        record = await self._state.update_peer(
            m.room, m.peer_id, state=p.model_dump(exclude_unset=True)
        )
        if record is None:
            raise SignalingError("not_joined", "join first")
        await self._presence.state_changed(m.room, record.peer)
        if "screen_stream" in p.model_fields_set:
            await self._sfu.state_changed(m.room)
        return ok(state=wire(record.peer.state))

    async def fresh_ice(self, m: Member, _: IcePayload) -> dict[str, Any]:
        """`ice`: fresh TURN credentials for a peer in the call (the dispatch refuses waiting,
        removed and unknown sockets with `not_joined`), valid `REFRESH_TTL` seconds."""
        now = self._clock()
        return ok(**ice_answer(self._ice, m.record.peer.user_id, now,
                               expires=int(now) + REFRESH_TTL))

    async def leave(self, m: Member, _: object) -> dict[str, Any]:
        await self._state.remove_peer(m.room, m.peer_id)
        await self._sockets.exit(m.conn.sid, m.room)
        await self._graces.released(m.room, m.peer_id, m.conn.sid)
        m.conn.grant = m.conn.peer_id = None
        log.info("signaling.leave room=%s peer=%s", m.room, m.peer_id)
        if m.record.admitted:
            await self.departed(m.room, m.record.peer, "left", "left")
        else:
            await self._presence.waiting_removed(m.room, m.peer_id)
        return ok()

    async def departed(
        self, room: str, peer: Peer, reason: Literal["left", "timeout", "removed"],
        kind: CallEventKind,
    ) -> None:
        """An admitted peer is out of the call: its media, recording and the others learn it."""
        await self._recording.departed(room, peer.peer_id)
        await self._sfu.departed(room, peer.peer_id)
        await self._presence.left(room, peer, reason)
        await self._presence.report(kind, room, peer)

    # --- lost sockets and the reconnect grace ---------------------------------------------

    async def disconnected(self, sid: str) -> None:
        """This process's socket `sid` is gone."""
        conn = self._connections.close(sid)
        try:
            if conn is None or conn.grant is None or conn.peer_id is None:
                return
            await self._graces.released(conn.grant.room, conn.peer_id, sid)
            record = await self.current(conn)
            if record is None:
                return
            log.info("signaling.disconnect room=%s peer=%s admitted=%s", conn.grant.room,
                     conn.peer_id, record.admitted)
            await self._lost(conn.grant.room, record, sid)
        except Exception as exc:
            log.error("signaling.disconnect_failed sid=%s error=%s", sid, type(exc).__name__)

    async def _lost(self, room: str, record: PeerRecord, sid: str, gone_for: float = 0.0) -> None:
        """The peer's socket `sid` is gone (dropped, or `gone_for` seconds ago with its
        process): start its grace."""
        peer_id = record.peer.peer_id
        if not record.admitted:
            # A waiting peer has no call to preserve: it queues again when it rejoins.
            if await self._state.remove_peer(room, peer_id) is not None:
                await self._presence.waiting_removed(room, peer_id)
            return
        updated = await self._state.update_peer(room, peer_id, connected=False, if_sid=sid)
        if updated is not None:
            await self._presence.state_changed(room, updated.peer)
            if not self.closing:
                await self._graces.begin(room, peer_id, sid,
                                         max(0.0, self._reconnect_grace - gone_for))

    async def orphaned(self, room: str, peer_id: str, sid: str) -> None:
        """The process holding `sid` died without a word: its socket is lost."""
        record = await self._state.get_peer(room, peer_id)
        if record is not None and record.sid == sid and record.peer.connected:
            log.info("signaling.orphaned room=%s peer=%s", room, peer_id)
            await self._lost(room, record, sid, gone_for=self._graces.detection_delay)

    async def reclaimed(self, room: str, peer_id: str, sid: str) -> None:
        """This process was taken for dead but still holds `sid`: the peer is back."""
        conn = self._connections.get(sid)
        if conn is None or conn.peer_id != peer_id:
            return
        updated = await self._state.update_peer(room, peer_id, connected=True, if_sid=sid)
        if updated is not None:
            await self._presence.state_changed(room, updated.peer)

    async def expire(self, room: str, peer_id: str, sid: str) -> None:
        """A grace ran out (in this process or another)."""
        try:
            # Compare-and-delete: a rejoin (here or in another process) changed the sid.
            record = await self._state.remove_peer(room, peer_id, if_disconnected_sid=sid)
            if record is not None:
                log.info("signaling.timeout room=%s peer=%s", room, peer_id)
                # A socket wrongly taken for dead (its process stalled) is out of the call too.
                await self._sockets.exit(sid, room)
                await self.departed(room, record.peer, "timeout", "left")
        except Exception as exc:
            log.error("signaling.expire_failed room=%s peer=%s error=%s", room, peer_id,
                      type(exc).__name__)
