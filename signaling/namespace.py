"""The `/call` socket.io namespace (PROTOCOL.md): the one dispatch point of its events.

`trigger_event` applies every check in the same order and turns every error into the documented
ack; the handler objects it delegates to (`Membership`, which also answers `ice`, `Relay`,
`Chat`, `Moderation`, and the SFU, lecture, recording and agenda sessions) only hold the
behaviour of their events.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, cast, runtime_checkable

import socketio
from pydantic import ValidationError

from .agenda import Agendas
from .chat import Chat
from .connection import (
    CHATS_PER_SECOND,
    EVENTS_PER_SECOND,
    ICE_PER_SECOND,
    Connections,
    Member,
)
from .counters import CallCounters
from .errors import SignalingError
from .events import OnCallEvent
from .grace import Graces, MemoryGraces
from .grants import CLOCK_SKEW, MAX_TTL
from .ice import IceConfig
from .lecture import Lectures, sfu_grant
from .media_port import MediaPort
from .membership import Membership
from .moderation import Moderation
from .presence import Presence
from .protocol import (
    EVENT_MODELS,
    AgendaPayload,
    ConsentPayload,
    JoinPayload,
    LecturePayload,
    RecordingPayload,
    SfuPayload,
    SignalPayload,
    decode_payload,
    describe_invalid,
)
from .recording import RecordingPort
from .recording_session import RecordingSessions
from .relay import Relay
from .roomstate import RoomState, StateUnavailable
from .sfu_session import SfuSessions
from .sockets import CallSockets

log = logging.getLogger("junta.signaling")

NAMESPACE = "/call"

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
        ice: IceConfig | None = None,
    ) -> None:
        super().__init__(NAMESPACE)
        self.state = state
        self._clock = clock
        self._connections = Connections()
        sockets = CallSockets(self)
        self._sockets = sockets
        # Reconnect-grace deadlines; in Redis they outlive this process (signaling/grace.py).
        self.graces = graces if graces is not None else MemoryGraces()
        self.counters = CallCounters()
        self.sfu = SfuSessions(
            media=media, state=state, to_room=sockets.to_room, to_socket=sockets.to_socket
        )
        self.lecture = Lectures(
            state=state, media=media, to_room=sockets.to_room, to_socket=sockets.to_socket
        )
        self.agenda = Agendas(state=state, to_room=sockets.to_room)
        self.recording = RecordingSessions(
            port=recording, state=state, sfu=self.sfu, to_room=sockets.to_room, clock=clock
        )
        presence = Presence(
            state=state, sockets=sockets, lecture=self.lecture, on_event=on_event, clock=clock
        )
        self._membership = Membership(
            secret=secret, state=state, connections=self._connections, sockets=sockets,
            presence=presence, graces=self.graces, reconnect_grace=reconnect_grace,
            sfu=self.sfu, lecture=self.lecture, recording=self.recording, agenda=self.agenda,
            clock=clock, ice=ice if ice is not None else IceConfig(),
        )
        self._relay = Relay(state=state, sockets=sockets, counters=self.counters)
        self._moderation = moderation = Moderation(
            state=state, connections=self._connections, sockets=sockets, presence=presence,
            membership=self._membership, graces=self.graces, sfu=self.sfu,
            recording=self.recording, clock=clock,
        )
        chat = Chat(state=state, sockets=sockets, clock=clock)
        self._handlers: dict[str, Handler] = {
            "state": self._membership.update_state,
            "chat": chat.send,
            "moderate": moderation.moderate,
            "leave": self._membership.leave,
            "sfu": self._sfu,
            "lecture": self._lecture,
            "recording": self._recording,
            "consent": self._consent,
            "agenda": self._agenda,
            "ice": self._membership.fresh_ice,
        }

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
                self._connections.open(sid, self._clock())
                return True
            await self._membership.disconnected(sid)
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
            # The hot path: no state read for the sender (see `Relay.sender`).
            sender = self._relay.sender(conn)
            try:
                signal = SignalPayload.model_validate(payload)
            except ValidationError as exc:
                raise SignalingError("invalid_payload", describe_invalid(exc)) from None
            return await self._relay.relay(conn, sender, signal)
        member = (None if event == "join"
                  else await self._membership.member(conn, event == "leave"))
        try:
            model = model_type.model_validate(payload)
        except ValidationError as exc:
            raise SignalingError("invalid_payload", describe_invalid(exc)) from None
        if event == "chat" and not conn.chats.allow(now):
            raise SignalingError("rate_limited", f"more than {CHATS_PER_SECOND} chats a second")
        if event == "ice" and not conn.ice.allow(now):
            raise SignalingError("rate_limited", f"more than {ICE_PER_SECOND} ice a second")
        if member is None:
            return await self._membership.join(conn, cast(JoinPayload, model))
        return await self._handlers[event](member, model)

    # --- events handed to the call's sessions ---------------------------------------------

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

    # --- for the web app ------------------------------------------------------------------

    def census(self) -> tuple[int, dict[str, int]]:
        """This process's sockets, and per room how many of them have joined (`/metrics`)."""
        return self._connections.census()

    async def revoke_guest_link(self, room: str, link_id: str, until: float) -> None:
        """The moderator revoked a guest invite link (web): refused until `until` (its expiry),
        and its guests are put out of the room, whichever process holds their sockets."""
        await self._moderation.revoke_link(room, link_id, until)

    async def end_guest_visits(self, room: str, reason: str) -> int:
        """Put the room's guests out at once (web: their review session ended), with `reason`
        in their `moderated` notice; how many there were."""
        return await self._moderation.end_guest_visits(room, reason)

    async def drop_peer(self, peer_id: str) -> bool:
        """Disconnect the socket of a peer held by this process, as a lost connection would."""
        for conn in self._connections:
            if conn.peer_id == peer_id:
                await self._sockets.disconnect(conn.sid)
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
            await self.close_user_sockets({"user_id": user_id})

    async def close_user_sockets(self, command: dict[str, Any]) -> None:
        """This process's part of `disconnect_user`."""
        user_id = command.get("user_id")
        until = self._clock() + MAX_TTL + CLOCK_SKEW  # no token outlives this bound
        for conn in self._connections:
            if conn.grant is None or conn.grant.user_id != user_id:
                continue
            room = conn.grant.room
            try:
                record = await self._membership.current(conn)
                if record is not None:
                    await self.state.bar(room, f"token:{record.token_id}", until)
            except StateUnavailable as exc:
                # Closing the socket matters most; its token then works until it expires.
                log.warning("signaling.bar_failed room=%s user=%s error=%s", room, user_id, exc)
            log.info("signaling.user_disconnected room=%s user=%s", room, user_id)
            await self._sockets.disconnect(conn.sid)

    async def shutdown(self) -> None:
        """Cancel the reconnect-grace timers; call before the server stops."""
        self._membership.closing = True
        await self.sfu.shutdown()
        await self.lecture.shutdown()
        await self.graces.close()
