"""The `/call` socket.io namespace (PROTOCOL.md) and the factory the web app mounts.

One dispatch point (`trigger_event`) applies every check in the same order and turns every
error into the documented ack; handlers below it only hold the behaviour of their event.
"""

from __future__ import annotations

import logging
import math
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, cast, runtime_checkable

import socketio
from pydantic import BaseModel, ValidationError

from .agenda import Agendas
from .counters import CallCounters
from .errors import SignalingError
from .events import CallEvent, CallEventKind, OnCallEvent
from .grace import Graces, MemoryGraces
from .grants import CLOCK_SKEW, MAX_TTL, JoinGrant, RoomKind, token_id, verify_grant
from .lecture import Lectures, joins_as_audience, sfu_grant
from .media_port import MediaPort
from .protocol import (
    EVENT_MODELS,
    PROTOCOL_VERSION,
    AgendaPayload,
    ChatMessage,
    ChatPayload,
    ConsentPayload,
    JoinPayload,
    LecturePayload,
    ModeratePayload,
    Peer,
    PeerState,
    RecordingPayload,
    SfuPayload,
    SignalPayload,
    check_description,
    decode_payload,
    describe_invalid,
    ok,
)
from .ratelimit import TokenBucket
from .recording import RecordingPort
from .recording_session import RecordingSessions
from .roomstate import MemoryRoomState, PeerRecord, RoomState, StateUnavailable
from .sfu_session import SfuSessions

log = logging.getLogger("junta.signaling")

NAMESPACE = "/call"
# Well above MAX_PAYLOAD_BYTES so an oversize event reaches trigger_event and gets an error ack;
# only a frame beyond this makes Engine.IO drop the connection.
MAX_HTTP_BUFFER_SIZE = 1024 * 1024
EVENTS_PER_SECOND = 50
CHATS_PER_SECOND = 5


@dataclass
class Connection:
    """What this process knows of one of its sockets; the room itself lives in RoomState."""

    sid: str
    events: TokenBucket
    chats: TokenBucket
    grant: JoinGrant | None = None
    peer_id: str | None = None


@dataclass(frozen=True)
class Member:
    """The sender of an event, known to be in its room (joined, or waiting where allowed)."""

    conn: Connection
    grant: JoinGrant
    record: PeerRecord

    @property
    def room(self) -> str:
        return self.grant.room

    @property
    def peer_id(self) -> str:
        return self.record.peer.peer_id


Handler = Callable[[Member, Any], Awaitable[dict[str, Any]]]

# Every process closes its own sockets of a person whose sign-in ended.
DISCONNECT_USER = "disconnect-user"


@runtime_checkable
class ProcessCommands(Protocol):
    """A socket.io manager that also carries commands to every signaling process
    (`signaling.scaleout.CallManager`); without one, this process is the only one."""

    def on_command(
        self, name: str, handler: Callable[[dict[str, Any]], Awaitable[None]]
    ) -> None: ...

    async def command(self, name: str, data: dict[str, Any]) -> None: ...


def _room_key(room: str) -> str:
    return f"call:{room}"


def _moderators_key(room: str) -> str:
    return f"call:{room}:moderators"


def _wire(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


class CallNamespace(socketio.AsyncNamespace):
    """Brokers WebRTC calls: rooms, waiting room, relay, state, chat, moderation; calls of
    three or more go through the SFU (`SfuSessions`)."""

    def __init__(
        self,
        *,
        secret: bytes,
        state: RoomState,
        reconnect_grace: float,
        on_event: OnCallEvent | None,
        clock: Callable[[], float],
        media: MediaPort | None = None,
        graces: Graces | None = None,
        recording: RecordingPort | None = None,
    ) -> None:
        super().__init__(NAMESPACE)
        self.state = state
        self.reconnect_grace = reconnect_grace
        self.on_event = on_event
        self._secret = secret
        self._clock = clock
        self._connections: dict[str, Connection] = {}
        # Reconnect-grace deadlines; in Redis they outlive this process (signaling/grace.py).
        self.graces = graces if graces is not None else MemoryGraces()
        self.graces.bind(on_expired=self._expire, on_orphaned=self._orphaned,
                         on_reclaimed=self._reclaimed)
        self.counters = CallCounters()
        self._closing = False
        self.sfu = SfuSessions(
            media=media, state=state, to_room=self._emit_to_room, to_socket=self._emit_to_socket
        )
        self.lecture = Lectures(
            state=state, media=media, to_room=self._emit_to_room, to_socket=self._emit_to_socket
        )
        self._handlers: dict[str, Handler] = {
            "state": self._state,
            "chat": self._chat,
            "moderate": self._moderate,
            "leave": self._leave,
            "sfu": self._sfu,
            "lecture": self._lecture,
            "recording": self._recording,
            "consent": self._consent,
            "agenda": self._agenda,
        }
        self.agenda = Agendas(state=state, to_room=self._emit_to_room)
        self.recording = RecordingSessions(
            port=recording, state=state, sfu=self.sfu, to_room=self._emit_to_room, clock=clock
        )

    # --- dispatch -------------------------------------------------------------------------

    async def trigger_event(self, event: Any, *args: Any) -> Any:
        """Every event of the namespace comes through here; client events always get an ack."""
        sid = args[0]
        # socket.io calls connect/disconnect while the socket is (dis)connecting; a client
        # emitting an event called "connect" arrives on a connected socket and is unknown.
        if event in ("connect", "disconnect") and not self.server.manager.is_connected(
            sid, self.namespace
        ):
            if event == "connect":
                self.graces.start()
                now = self._clock()
                self._connections[sid] = Connection(
                    sid,
                    TokenBucket(EVENTS_PER_SECOND, EVENTS_PER_SECOND, now),
                    TokenBucket(CHATS_PER_SECOND, CHATS_PER_SECOND, now),
                )
                return True
            await self._disconnected(sid)
            return None
        name = event if isinstance(event, str) and event in EVENT_MODELS else "unknown"
        self.counters.events[name] += 1
        try:
            return await self._dispatch(sid, event, list(args[1:]))
        except SignalingError as exc:
            self.counters.errors[exc.code] += 1
            log.info("signaling.refused event=%s code=%s sid=%s", name, exc.code, sid)
            return exc.ack()
        except StateUnavailable as exc:
            # An outage or overload of Redis, not a bug: no traceback, and the client may retry.
            self.counters.errors["unavailable"] += 1
            log.warning("signaling.state_unavailable event=%s sid=%s error=%s", name, sid, exc)
            return SignalingError("unavailable", "room state unreachable, try again").ack()
        except Exception as exc:
            ref = uuid.uuid4().hex[:12]
            # The traceback without the exception's text: that text may quote the payload.
            self.counters.errors["internal"] += 1
            log.error(
                "signaling.internal ref=%s event=%s error=%s\n%s",
                ref, name, type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__)),
            )
            return SignalingError("internal", f"internal error, reference {ref}").ack()

    async def _dispatch(self, sid: str, event: Any, args: list[Any]) -> dict[str, Any]:
        conn = self._connections.get(sid)
        if conn is None:
            raise SignalingError("not_joined", "socket is not connected")
        now = self._clock()
        if not conn.events.allow(now):
            raise SignalingError("rate_limited", f"more than {EVENTS_PER_SECOND} events a second")
        model_type = EVENT_MODELS.get(event) if isinstance(event, str) else None
        if model_type is None:
            raise SignalingError("unknown_event", "the protocol defines no such event")
        payload = decode_payload(event, args)
        if event == "signal":
            # The hot path: no state read for the sender (see `_relay`).
            sender = self._sender(conn)
            try:
                signal = SignalPayload.model_validate(payload)
            except ValidationError as exc:
                raise SignalingError("invalid_payload", describe_invalid(exc)) from None
            return await self._relay(conn, sender, signal)
        member = None if event == "join" else await self._member(conn, event == "leave")
        try:
            model = model_type.model_validate(payload)
        except ValidationError as exc:
            raise SignalingError("invalid_payload", describe_invalid(exc)) from None
        if event == "chat" and not conn.chats.allow(now):
            raise SignalingError("rate_limited", f"more than {CHATS_PER_SECOND} chats a second")
        if member is None:
            return await self._join(conn, cast(JoinPayload, model))
        return await self._handlers[event](member, model)

    async def _current(self, conn: Connection) -> PeerRecord | None:
        """The record this socket joined as, unless it was removed or taken over since."""
        if conn.grant is None or conn.peer_id is None:
            return None
        record = await self.state.get_peer(conn.grant.room, conn.peer_id)
        return record if record is not None and record.sid == conn.sid else None

    def _sender(self, conn: Connection) -> JoinGrant:
        """The grant of a socket in its call, known without reading the room state: a socket
        is in its call's socket.io room exactly while its peer is admitted and its own. Every
        change of that, made by any process, reaches this one's manager (`_enter`, `_exit`,
        and the disconnect of a socket taken over, removed or refused)."""
        grant = conn.grant
        if grant is None or conn.peer_id is None:
            raise SignalingError("not_joined", "join first")
        members = self.server.manager.rooms.get(self.namespace, {}).get(_room_key(grant.room))
        if members is None or conn.sid not in members:
            raise SignalingError("not_joined", "not in the call (still waiting, or removed)")
        return grant

    async def _member(self, conn: Connection, waiting_ok: bool) -> Member:
        record = await self._current(conn)
        if record is None or conn.grant is None:
            raise SignalingError("not_joined", "join first")
        if not record.admitted and not waiting_ok:
            raise SignalingError("not_joined", "still in the waiting room")
        return Member(conn, conn.grant, record)

    # --- join, leave, disconnect ----------------------------------------------------------

    async def _join(self, conn: Connection, p: JoinPayload) -> dict[str, Any]:
        if await self._current(conn) is not None:
            raise SignalingError("already_joined", "this socket has joined already")
        if p.protocol != PROTOCOL_VERSION:
            raise SignalingError("protocol_mismatch", f"server speaks protocol {PROTOCOL_VERSION}")
        now = self._clock()
        grant = verify_grant(p.token, self._secret, now)
        room, tid = grant.room, token_id(p.token)
        if await self.state.is_barred(room, f"token:{tid}", now):
            raise SignalingError("forbidden", "this token was revoked (removed or refused)")
        await self.sfu.check_available(grant)
        # Someone removed from this call comes back only through the waiting room.
        removed = await self.state.is_barred(room, f"user:{grant.user_id}", now)
        prev = await self.state.get_peer(room, p.peer_id)
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
        record = PeerRecord(peer=peer, sid=conn.sid, admitted=admitted, token_id=tid)
        await self.state.put_peer(room, record)
        conn.grant, conn.peer_id = grant, p.peer_id
        await self.graces.held(room, p.peer_id, conn.sid)
        await self.graces.cancel(room, p.peer_id)
        if prev is not None and prev.sid != conn.sid and prev.peer.connected:
            # The page came back on a new socket before the server noticed the old one drop.
            await self.server.disconnect(prev.sid, namespace=self.namespace)
        log.info(
            "signaling.join room=%s peer=%s user=%s admitted=%s resumed=%s",
            room, p.peer_id, grant.user_id, admitted, prev is not None,
        )
        if not admitted:
            await self._send_waiting(room)
            return ok(status="waiting", self=_wire(peer))
        await self._enter(conn.sid, room, grant.moderate)
        if prev is not None and prev.admitted:
            await self._send_peer_state(room, peer)
            await self.sfu.resumed(room, p.peer_id)
        else:
            # A move to the SFU reaches the others before the newcomer who caused it.
            await self.sfu.admitted(room, grant.room_kind, p.peer_id, grant.subscribe, conn.sid)
            await self.recording.admitted(room, p.peer_id)
            await self._send_peer_joined(room, peer, conn.sid)
            await self._report("joined", room, peer)
        return await self._joined(room, record)

    async def _joined(self, room: str, record: PeerRecord) -> dict[str, Any]:
        """The `joined` ack, also sent as `admitted`."""
        records = await self.state.list_peers(room)
        me = record.peer.peer_id
        ack = ok(
            status="joined",
            self=_wire(record.peer),
            peers=[_wire(r.peer) for r in records
                   if r.admitted and r.peer.peer_id != me and not r.peer.audience],
            chat=[_wire(m) for m in await self.state.chat_history(room)],
            mode=await self.sfu.mode(room),
            audience=await self.lecture.counts(room),
            recording=await self.recording.wire_for(room, me),
            agenda=await self.agenda.current(room),
        )
        if record.peer.moderator:
            ack["waiting"] = [_wire(r.peer) for r in records if not r.admitted]
        return ack

    async def _leave(self, m: Member, _: object) -> dict[str, Any]:
        await self.state.remove_peer(m.room, m.peer_id)
        await self._exit(m.conn.sid, m.room)
        await self.graces.released(m.room, m.peer_id, m.conn.sid)
        m.conn.grant = m.conn.peer_id = None
        log.info("signaling.leave room=%s peer=%s", m.room, m.peer_id)
        if m.record.admitted:
            await self.recording.departed(m.room, m.peer_id)
            await self.sfu.departed(m.room, m.peer_id)
            await self._send_peer_left(m.room, m.record.peer, "left")
            await self._report("left", m.room, m.record.peer)
        else:
            await self._send_waiting(m.room)
        return ok()

    async def _disconnected(self, sid: str) -> None:
        conn = self._connections.pop(sid, None)
        try:
            if conn is None or conn.grant is None or conn.peer_id is None:
                return
            await self.graces.released(conn.grant.room, conn.peer_id, sid)
            record = await self._current(conn)
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
            if await self.state.remove_peer(room, peer_id) is not None:
                await self._send_waiting(room)
            return
        updated = await self.state.update_peer(room, peer_id, connected=False, if_sid=sid)
        if updated is not None:
            await self._send_peer_state(room, updated.peer)
            if not self._closing:  # sockets closing at shutdown leave no timers behind
                await self.graces.begin(room, peer_id, sid,
                                        max(0.0, self.reconnect_grace - gone_for))

    async def _orphaned(self, room: str, peer_id: str, sid: str) -> None:
        """The process holding `sid` died without a word: its socket is lost."""
        record = await self.state.get_peer(room, peer_id)
        if record is not None and record.sid == sid and record.peer.connected:
            log.info("signaling.orphaned room=%s peer=%s", room, peer_id)
            await self._lost(room, record, sid, gone_for=self.graces.detection_delay)

    async def _reclaimed(self, room: str, peer_id: str, sid: str) -> None:
        """This process was taken for dead but still holds `sid`: the peer is back."""
        conn = self._connections.get(sid)
        if conn is None or conn.peer_id != peer_id:
            return
        updated = await self.state.update_peer(room, peer_id, connected=True, if_sid=sid)
        if updated is not None:
            await self._send_peer_state(room, updated.peer)

    async def _expire(self, room: str, peer_id: str, sid: str) -> None:
        """A grace ran out (in this process or another)."""
        try:
            # Compare-and-delete: a rejoin (here or in another process) changed the sid.
            record = await self.state.remove_peer(room, peer_id, if_disconnected_sid=sid)
            if record is not None:
                log.info("signaling.timeout room=%s peer=%s", room, peer_id)
                # A socket wrongly taken for dead (its process stalled) is out of the call too.
                await self._exit(sid, room)
                await self.recording.departed(room, peer_id)
                await self.sfu.departed(room, peer_id)
                await self._send_peer_left(room, record.peer, "timeout")
                await self._report("left", room, record.peer)
        except Exception as exc:
            log.error("signaling.expire_failed room=%s peer=%s error=%s", room, peer_id,
                      type(exc).__name__)

    def census(self) -> tuple[int, dict[str, int]]:
        """This process's sockets, and per room how many of them have joined (`/metrics`)."""
        rooms: dict[str, int] = {}
        for conn in self._connections.values():
            if conn.grant is not None and conn.peer_id is not None:
                rooms[conn.grant.room] = rooms.get(conn.grant.room, 0) + 1
        return len(self._connections), rooms

    async def drop_peer(self, peer_id: str) -> bool:
        """Disconnect the socket of a peer held by this process, as a lost connection would."""
        for conn in list(self._connections.values()):
            if conn.peer_id == peer_id:
                await self.server.disconnect(conn.sid, namespace=self.namespace)
                return True
        return False

    async def disconnect_user(self, user_id: str) -> None:
        """Close at once, on every signaling process, the call sockets of a person whose sign-in
        ended (account deactivated, or a session of theirs ended).

        Their join tokens are revoked, so only a fresh token can bring the page back, and a fresh
        one needs a live sign-in session: a device whose session ended stays out (its peer times
        out after the reconnect grace), while the person's other signed-in pages rejoin as the
        same participant within it. Each process closes the sockets it holds: with a
        `ProcessCommands` manager this process's before this returns, the others' as soon as
        the command reaches them.
        """
        manager = self.server.manager
        if isinstance(manager, ProcessCommands):
            await manager.command(DISCONNECT_USER, {"user_id": user_id})
        else:
            await self._close_user_sockets({"user_id": user_id})

    async def _close_user_sockets(self, command: dict[str, Any]) -> None:
        """This process's part of `disconnect_user`."""
        user_id = command.get("user_id")
        until = self._clock() + MAX_TTL + CLOCK_SKEW  # no token outlives this bound
        for conn in list(self._connections.values()):
            if conn.grant is None or conn.grant.user_id != user_id:
                continue
            room = conn.grant.room
            try:
                record = await self._current(conn)
                if record is not None:
                    await self.state.bar(room, f"token:{record.token_id}", until)
            except StateUnavailable as exc:
                # Closing the socket matters most; its token then works until it expires.
                log.warning("signaling.bar_failed room=%s user=%s error=%s", room, user_id, exc)
            log.info("signaling.user_disconnected room=%s user=%s", room, user_id)
            await self.server.disconnect(conn.sid, namespace=self.namespace)

    async def shutdown(self) -> None:
        """Cancel the reconnect-grace timers; call before the server stops."""
        self._closing = True
        await self.sfu.shutdown()
        await self.lecture.shutdown()
        await self.graces.close()

    # --- in-call events -------------------------------------------------------------------

    async def _relay(self, conn: Connection, grant: JoinGrant, p: SignalPayload) -> dict[str, Any]:
        """`signal`: one state read (the target's record) and one emit, whatever the backend."""
        peer_id = cast(str, conn.peer_id)
        if not grant.may_signal:
            raise SignalingError("forbidden", "the grant allows neither publish nor subscribe")
        if p.description is not None:
            check_description(p.description)
        if p.to == peer_id:
            raise SignalingError("invalid_payload", "to: a peer cannot signal itself")
        target = await self.state.get_peer(grant.room, p.to)
        if target is None or not target.admitted:
            raise SignalingError("peer_not_found", "no such peer in this room")
        # While the target is reconnecting the signal is dropped; ICE restart recovers after.
        if target.peer.connected:
            await self.emit("signal", p.relayed(peer_id), to=target.sid)
            self.counters.relayed += 1
        return ok()

    async def _state(self, m: Member, p: PeerState) -> dict[str, Any]:
        record = await self.state.update_peer(
            m.room, m.peer_id, state=p.model_dump(exclude_unset=True)
        )
        if record is None:
            raise SignalingError("not_joined", "join first")
        await self._send_peer_state(m.room, record.peer)
        if "screen_stream" in p.model_fields_set:
            await self.sfu.state_changed(m.room)
        return ok(state=_wire(record.peer.state))

    async def _chat(self, m: Member, p: ChatPayload) -> dict[str, Any]:
        message = ChatMessage(
            id=uuid.uuid4().hex, peer_id=m.peer_id, name=m.record.peer.name, text=p.text,
            at=datetime.fromtimestamp(self._clock(), UTC),
        )
        await self.state.add_chat(m.room, message)
        await self.emit("chat", _wire(message), room=_room_key(m.room))
        log.info("signaling.chat room=%s peer=%s length=%d", m.room, m.peer_id, len(p.text))
        return ok(message=_wire(message))

    async def _moderate(self, m: Member, p: ModeratePayload) -> dict[str, Any]:
        if not m.grant.moderate:
            raise SignalingError("forbidden", "the grant does not allow moderation")
        target = await self.state.get_peer(m.room, p.target)
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
            updated = await self.state.update_peer(m.room, p.target, state=change)
            if updated is not None:
                await self.emit("moderated", notice, to=updated.sid)
                await self._send_peer_state(m.room, updated.peer)
        return ok()

    async def _admit(self, room: str, kind: RoomKind, target: PeerRecord) -> None:
        record = await self.state.update_peer(room, target.peer.peer_id, admitted=True)
        if record is None:
            raise SignalingError("peer_not_found", "no such peer in the waiting room")
        await self._enter(record.sid, room, record.peer.moderator)
        # Its grant is on its socket, which another process may hold: then assume it may.
        conn = self._connections.get(record.sid)
        may_subscribe = conn.grant.subscribe if conn and conn.grant else True
        await self.sfu.admitted(room, kind, record.peer.peer_id, may_subscribe, record.sid)
        await self.recording.admitted(room, record.peer.peer_id)
        await self.emit("admitted", await self._joined(room, record), to=record.sid)
        await self._send_peer_joined(room, record.peer, record.sid)
        await self._send_waiting(room)
        await self._report("admitted", room, record.peer)
        await self._report("joined", room, record.peer)

    async def _expel(self, room: str, target: PeerRecord, notice: dict[str, Any]) -> None:
        peer_id = target.peer.peer_id
        await self.emit("moderated", notice, to=target.sid)
        # The token cannot outlive this bound, so neither need its bar.
        until = self._clock() + MAX_TTL + CLOCK_SKEW
        await self.state.bar(room, f"token:{target.token_id}", until)
        if target.admitted:
            await self.state.bar(room, f"user:{target.peer.user_id}", math.inf)
        await self.state.remove_peer(room, peer_id)
        await self.graces.cancel(room, peer_id)
        if target.admitted:
            await self._exit(target.sid, room)
            await self.recording.departed(room, peer_id)
            await self.sfu.departed(room, peer_id)
            await self._send_peer_left(room, target.peer, "removed")
            await self._report("removed", room, target.peer)
        else:
            await self._send_waiting(room)
            await self._report("refused", room, target.peer)
        if target.peer.connected:
            await self.server.disconnect(target.sid, namespace=self.namespace)

    async def _sfu(self, m: Member, p: SfuPayload) -> dict[str, Any]:
        grant = sfu_grant(m.grant, m.record.peer, p)  # a promoted lecture viewer may publish
        return await self.sfu.handle(m.room, grant, m.peer_id, p)

    async def _lecture(self, m: Member, p: LecturePayload) -> dict[str, Any]:
        return await self.lecture.handle(m.room, m.grant, m.peer_id, p)

    async def _recording(self, m: Member, p: RecordingPayload) -> dict[str, Any]:
        return await self.recording.command(m.room, m.grant, m.record.peer, p.action)

    async def _consent(self, m: Member, p: ConsentPayload) -> dict[str, Any]:
        return await self.recording.consent(m.room, m.grant, m.record.peer, p)

    async def _agenda(self, m: Member, p: AgendaPayload) -> dict[str, Any]:
        return await self.agenda.move(m.room, m.grant, m.peer_id, p)

    # --- helpers --------------------------------------------------------------------------

    async def _emit_to_room(
        self, room: str, event: str, data: dict[str, Any], skip_sid: str | None
    ) -> None:
        await self.emit(event, data, room=_room_key(room), skip_sid=skip_sid)

    async def _emit_to_socket(self, sid: str, event: str, data: dict[str, Any]) -> None:
        await self.emit(event, data, to=sid)

    async def _enter(self, sid: str, room: str, moderator: bool) -> None:
        await self.enter_room(sid, _room_key(room))
        if moderator:
            await self.enter_room(sid, _moderators_key(room))

    async def _exit(self, sid: str, room: str) -> None:
        await self.leave_room(sid, _room_key(room))
        await self.leave_room(sid, _moderators_key(room))

    async def _send_waiting(self, room: str) -> None:
        waiting = [_wire(r.peer) for r in await self.state.list_peers(room) if not r.admitted]
        await self.emit("waiting", {"peers": waiting}, room=_moderators_key(room))

    async def _send_peer_joined(self, room: str, peer: Peer, skip_sid: str) -> None:
        if self.lecture.announce(room, peer):
            await self.emit("peer-joined", _wire(peer), room=_room_key(room), skip_sid=skip_sid)

    async def _send_peer_state(self, room: str, peer: Peer) -> None:
        if not self.lecture.announce(room, peer):
            return
        await self.emit(
            "peer-state",
            {"peer_id": peer.peer_id, "state": _wire(peer.state), "connected": peer.connected},
            room=_room_key(room),
        )

    async def _send_peer_left(
        self, room: str, peer: Peer, reason: Literal["left", "timeout", "removed"]
    ) -> None:
        if self.lecture.announce(room, peer):
            await self.emit("peer-left", {"peer_id": peer.peer_id, "reason": reason},
                            room=_room_key(room))

    async def _report(self, kind: CallEventKind, room: str, peer: Peer) -> None:
        if self.on_event is None:
            return
        at = datetime.fromtimestamp(self._clock(), UTC)
        try:
            await self.on_event(CallEvent(kind, room, peer.user_id, peer.peer_id, at))
        except Exception as exc:
            # The audit trail failing must not break the call; it logs its own details.
            log.error("signaling.on_event_failed kind=%s room=%s error=%s", kind, room,
                      type(exc).__name__)


def build_socket_server(
    *,
    secret: bytes,
    reconnect_grace: float = 20.0,
    on_event: OnCallEvent | None = None,
    state: RoomState | None = None,
    client_manager: socketio.AsyncManager | None = None,
    clock: Callable[[], float] = time.time,
    cors_allowed_origins: str | list[str] | None = None,
    media: MediaPort | None = None,
    graces: Graces | None = None,
    recording: RecordingPort | None = None,
) -> tuple[socketio.AsyncServer, CallNamespace]:
    """The socket.io server with `/call` registered; the web app calls `sio.attach(app)`.

    `media` is the SFU for rooms of three or more, boards and lectures; without it those rooms
    stay peer to peer where they can and refuse joins (`media_unavailable`) where they cannot.

    `cors_allowed_origins=None` accepts only same-origin pages. `clock` drives token expiry,
    rate limits and timestamps; the reconnect grace runs on the event loop (`MemoryGraces`)
    or, with `graces=RedisGraces(...)` beside a `RedisRoomState`, in Redis.
    """
    if len(secret) < 16:
        raise ValueError("the join-token secret must be at least 16 bytes")
    if reconnect_grace < 0:
        raise ValueError("reconnect_grace must not be negative")
    if client_manager is not None and state is None:
        # Several processes sharing sockets but each with its own rooms would split calls.
        log.warning("signaling.config client_manager is shared but room state is in-memory")
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=client_manager,
        cors_allowed_origins=cors_allowed_origins,
        max_http_buffer_size=MAX_HTTP_BUFFER_SIZE,
        # One socket's events run in order (an offer before its candidates); sockets still run
        # concurrently. No polling: scaled out behind nginx there are no sticky sessions.
        async_handlers=False,
        transports=["websocket"],
    )
    namespace = CallNamespace(
        secret=secret,
        state=state if state is not None else MemoryRoomState(),
        reconnect_grace=reconnect_grace,
        on_event=on_event,
        clock=clock,
        media=media,
        graces=graces,
        recording=recording,
    )
    sio.register_namespace(namespace)
    if isinstance(sio.manager, ProcessCommands):
        sio.manager.on_command(DISCONNECT_USER, namespace._close_user_sockets)
    return sio, namespace
