"""Recording in a call (PROTOCOL.md, "Recording"): the `recording` and `consent` events, and what
joins and departures mean for a running recording.

`CallNamespace` hands it those events and tells it when peers are admitted and depart; the
recorder and the record of recordings are reached only through `RecordingPort`. The recording
itself (id, start, answers) lives in `RoomState`, so any process can stop it or take an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from typing import Any

from .errors import SignalingError
from .grants import JoinGrant
from .protocol import ConsentPayload, Peer, ok
from .recording import (
    ConsentAnswer,
    RecordingAction,
    RecordingInfo,
    RecordingPort,
    RecordingRefused,
    answered,
    excluded_peers,
    must_stop,
    participants,
    recording_wire,
)
from .roomstate import RoomState
from .sfu_session import SfuSessions, ToRoom

log = logging.getLogger("junta.signaling.recording")


class RecordingSessions:
    """Each room's recording as the call sees it: started, answered, stopped."""

    def __init__(
        self, *, port: RecordingPort | None, state: RoomState, sfu: SfuSessions, to_room: ToRoom,
        clock: Callable[[], float],
    ) -> None:
        self.port = port
        self.state = state
        self.sfu = sfu
        self._to_room = to_room
        self._clock = clock
        # Start, stop and the hooks of one room run one at a time in this process.
        self._locks: dict[str, asyncio.Lock] = {}
        sfu.on_room_moved(self.media_lost)
        self._closing: set[asyncio.Task[None]] = set()  # records being closed after a loss

    def _lock(self, room: str) -> asyncio.Lock:
        return self._locks.setdefault(room, asyncio.Lock())

    @property
    def notice_version(self) -> str | None:
        return self.port.notice_version if self.port is not None else None

    async def wire_for(self, room: str, peer_id: str) -> dict[str, Any]:
        """The room's recording as the join ack tells it to `peer_id` (with its own answer)."""
        return recording_wire(await self.state.get_recording(room), self.notice_version, peer_id)

    async def status(self, room: str) -> dict[str, Any]:
        """The room's recording as someone about to join is told (the join API)."""
        return recording_wire(await self.state.get_recording(room), self.notice_version)

    # --- the `recording` and `consent` events ---------------------------------------------

    async def command(
        self, room: str, grant: JoinGrant, peer: Peer, action: RecordingAction
    ) -> dict[str, Any]:
        """A moderator starts or stops the room's recording; the ack."""
        if not grant.moderate:
            raise SignalingError("forbidden", "the grant does not allow recording")
        port = self.port
        if port is None:
            raise SignalingError("recording_unavailable", "this server has no recorder")
        async with self._lock(room):
            if action == "start":
                started = await self._start(port, room, grant, peer)
                return ok(recording=recording_wire(started, port.notice_version, peer.peer_id))
            running = await self.state.get_recording(room)
            if running is None:
                raise SignalingError("not_recording", "the room is not being recorded")
            await self._stop(port, room, running, reason="stopped", by=peer.peer_id)
        return ok(recording=recording_wire(None, port.notice_version))

    async def _start(
        self, port: RecordingPort, room: str, grant: JoinGrant, peer: Peer
    ) -> RecordingInfo:
        if await self.state.get_recording(room) is not None:
            raise SignalingError("already_recording", "the room is being recorded already")
        # Recorded rooms run through the SFU: the recorder takes its tracks there.
        await self.sfu.require_sfu(room, grant.room_kind)
        info = RecordingInfo(id=uuid.uuid4().hex, since=self._clock(), by=peer.peer_id)
        if not await self.state.start_recording(room, info):
            raise SignalingError("already_recording", "the room is being recorded already")
        admitted = await self._admitted(room)
        try:
            # Nobody has answered yet: everyone is left out until they consent.
            await port.start(room, info.id, started_by_user_id=grant.user_id,
                             excluded=excluded_peers(None, admitted))
        except RecordingRefused as exc:
            await self.state.end_recording(room, info.id)
            log.error("signaling.recording.start_failed room=%s code=%s", room, exc.code)
            raise SignalingError("recording_failed", f"{exc.code}: {exc.message}") from None
        # Someone admitted meanwhile (through another process) is left out as well.
        for late in set(await self._admitted(room)) - set(admitted):
            if not await self._set_excluded(port, room, late, True):
                await self._stop(port, room, info, reason="exclude_failed", by=None)
                raise SignalingError("recording_failed", "a participant could not be left out")
        log.info("signaling.recording.started room=%s recording=%s by=%s peers=%d", room,
                 info.id, peer.peer_id, len(admitted))
        await self._broadcast(room, info)
        return info

    async def consent(
        self, room: str, grant: JoinGrant, peer: Peer, p: ConsentPayload
    ) -> dict[str, Any]:
        """A participant's answer to the notice; the ack carries the recording as it now is."""
        port = self.port
        if port is None:
            raise SignalingError("recording_unavailable", "this server has no recorder")
        info = await self.state.get_recording(room)
        if info is None or info.id != p.recording_id:
            raise SignalingError("not_recording", "that recording is not running in this room")
        if p.notice_version != port.notice_version:
            raise SignalingError("notice_outdated",
                                 f"the current notice is version {port.notice_version}")
        if not port.knows_locale(p.locale):
            raise SignalingError("invalid_payload", "locale: no notice in that language")
        answer = ConsentAnswer(
            recording_id=info.id, peer_id=peer.peer_id, user_id=grant.user_id,
            display_name=peer.name, granted=p.granted, notice_version=p.notice_version,
            locale=p.locale,
        )
        try:
            await port.consent(room, answer)
        except RecordingRefused as exc:
            log.error("signaling.recording.consent_failed room=%s peer=%s code=%s", room,
                      peer.peer_id, exc.code)
            raise SignalingError("recording_failed", f"{exc.code}: {exc.message}") from None
        consent = answered(info, peer.peer_id, p.granted, peer.name)
        updated = await self.state.set_consent(room, info.id, peer.peer_id, consent)
        log.info("signaling.recording.consent room=%s recording=%s peer=%s granted=%s", room,
                 info.id, peer.peer_id, p.granted)
        # Only the answering page hears of it (its ack): in a lecture of hundreds, telling
        # everyone of every answer would be hundreds squared messages.
        return ok(recording=recording_wire(updated, port.notice_version, peer.peer_id))

    # --- hooks (called by CallNamespace) --------------------------------------------------

    async def admitted(self, room: str, peer_id: str) -> None:
        """A peer entered the call: it is left out of a running recording until it consents.
        Called before its join is answered, so before it can publish."""
        port = self.port
        if port is None:
            return
        async with self._lock(room):
            info = await self.state.get_recording(room)
            if info is None:
                return
            if await self._admitted(room) == [peer_id]:
                # Everyone it was recording left without it being stopped (a process died).
                await self._stop(port, room, info, reason="stale", by=None)
                return
            answer = info.consents.get(peer_id)
            granted = answer is not None and answer.granted
            if not await self._set_excluded(port, room, peer_id, not granted) and not granted:
                # Nobody may be recorded without consent: better no recording at all.
                with contextlib.suppress(SignalingError):
                    await self._stop(port, room, info, reason="exclude_failed", by=None)

    async def departed(self, room: str, peer_id: str) -> None:
        """A peer is out of the call for good: with no moderator left, the recording ends.
        Called before the SFU closes the room's media."""
        port = self.port
        if port is None:
            return
        async with self._lock(room):
            info = await self.state.get_recording(room)
            records = [r for r in await self.state.list_peers(room) if r.admitted]
            if info is None or not must_stop(info, sum(r.peer.moderator for r in records)):
                return
            reason = "empty" if not records else "no_moderator"
            # A failure is logged; nobody is left to retry, so the record goes as it is.
            with contextlib.suppress(SignalingError):
                await self._stop(port, room, info, reason=reason, by=None)

    async def media_lost(self, room: str, first: bool) -> None:
        """The room's media node died, and its recorder with it: the recording ends as
        interrupted with what was written, and the room shows it stopped. Only the process
        that moved the room (`first`) does it, once."""
        port = self.port
        if port is None or not first:
            return
        async with self._lock(room):
            info = await self.state.get_recording(room)
            if info is None or await self.state.end_recording(room, info.id) is None:
                return
            log.warning("signaling.recording.interrupted room=%s recording=%s reason=media_lost",
                        room, info.id)
            await self._broadcast(room, None)
        # Putting the files together takes a while: the call must not wait for it.
        task = asyncio.ensure_future(self._close_interrupted(port, room, info))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close_interrupted(self, port: RecordingPort, room: str, info: RecordingInfo) -> None:
        try:
            await port.interrupted(room, info.id, participants(info))
        except RecordingRefused as exc:
            log.error("signaling.recording.interrupt_failed room=%s recording=%s code=%s", room,
                      info.id, exc.code)

    # --- helpers --------------------------------------------------------------------------

    async def _stop(
        self, port: RecordingPort, room: str, info: RecordingInfo, *, reason: str,
        by: str | None,
    ) -> None:
        failure: RecordingRefused | None = None
        try:
            await port.stop(room, participants(info))
        except RecordingRefused as exc:
            failure = exc
            log.error("signaling.recording.stop_failed room=%s recording=%s code=%s", room,
                      info.id, exc.code)
        if failure is not None and by is not None:
            # A moderator asked: the recording stays on record as running, so they may retry.
            raise SignalingError("recording_failed", f"{failure.code}: {failure.message}")
        await self.state.end_recording(room, info.id)
        log.info("signaling.recording.stopped room=%s recording=%s reason=%s by=%s", room,
                 info.id, reason, by)
        await self._broadcast(room, None)
        if failure is not None:
            raise SignalingError("recording_failed", f"{failure.code}: {failure.message}")

    async def _set_excluded(
        self, port: RecordingPort, room: str, peer_id: str, excluded: bool
    ) -> bool:
        """Whether the recorder took the change (a failure is logged)."""
        try:
            await port.set_excluded(room, peer_id, excluded)
        except RecordingRefused as exc:
            log.error("signaling.recording.exclude_failed room=%s peer=%s code=%s", room,
                      peer_id, exc.code)
            return False
        return True

    async def _admitted(self, room: str) -> list[str]:
        return [r.peer.peer_id for r in await self.state.list_peers(room) if r.admitted]

    async def _broadcast(self, room: str, info: RecordingInfo | None) -> None:
        await self._to_room(room, "recording-state",
                            {"recording": recording_wire(info, self.notice_version)}, None)
