"""Lectures (PROTOCOL.md, "Lectures"): a stage of moderators and speakers, and an audience.

A lecture's viewers join receive-only (their grant may not publish). They are the `audience`:
their arrivals, departures and state changes are not broadcast to the room, which would be
O(viewers²) messages; the room hears coalesced counts (`audience`) and moderators ask for pages
of viewers, raised hands first. A moderator promotes a viewer to speak (it leaves the audience
and may publish) and demotes it again (its published tracks end).

The rules are pure functions over records; `Lectures` applies them and does the I/O.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from .errors import SignalingError
from .grants import JoinGrant
from .media_port import MediaPort, MediaRefused
from .protocol import (
    LecturePayload,
    LectureStage,
    LectureViewers,
    Peer,
    SfuPayload,
    SfuPublish,
    ok,
    wire,
)
from .roomstate import PeerRecord, RoomState
from .sfu_session import ToRoom, ToSocket

log = logging.getLogger("junta.signaling.lecture")

# Counts go out at most this often per room: a hundred viewers arriving at once make one event.
COUNTS_INTERVAL = 0.25


def joins_as_audience(grant: JoinGrant) -> bool:
    """A lecture's viewer: neither moderator nor allowed to publish by its grant."""
    return grant.room_kind == "lecture" and not grant.moderate and not grant.publish


def may_publish(grant: JoinGrant, peer: Peer) -> bool:
    """In a lecture, being on stage decides (a demoted guest lecturer stops publishing);
    elsewhere, the grant."""
    if grant.room_kind == "lecture" and not grant.moderate:
        return not peer.audience
    return grant.publish


def sfu_grant(grant: JoinGrant, peer: Peer, payload: SfuPayload) -> JoinGrant:
    """The grant an `sfu` event is checked against: a promoted viewer's grant may publish.

    A viewer's publish is refused here with a message that says why.
    """
    allowed = may_publish(grant, peer)
    if isinstance(payload.root, SfuPublish) and not allowed:
        raise SignalingError(
            "forbidden", "a lecture viewer may not publish until a moderator promotes them"
        )
    return grant if allowed == grant.publish else replace(grant, publish=allowed)


def audience_counts(records: list[PeerRecord]) -> dict[str, int]:
    """How many viewers are in the audience, and how many of them raise a hand."""
    viewers = [r for r in records if r.admitted and r.peer.audience]
    return {"viewers": len(viewers), "hands": sum(r.peer.state.hand for r in viewers)}


def viewer_page(records: list[PeerRecord], page: int, size: int) -> list[Peer]:
    """One page of the audience: raised hands first, each group in arrival order."""
    viewers = [r.peer for r in records if r.admitted and r.peer.audience]
    ordered = [p for p in viewers if p.state.hand] + [p for p in viewers if not p.state.hand]
    return ordered[page * size:(page + 1) * size]


class Lectures:
    """Who is on stage in each lecture room, and the audience counts the room hears."""

    def __init__(self, *, state: RoomState, media: MediaPort | None, to_room: ToRoom,
                 to_socket: ToSocket) -> None:
        self.state = state
        self.media = media
        self._to_room = to_room
        self._to_socket = to_socket
        self._counting: dict[str, asyncio.Task[None]] = {}
        self._sent: dict[str, dict[str, int]] = {}

    def announce(self, room: str, peer: Peer) -> bool:
        """Whether the room hears of this peer's arrival, departure or state; an audience
        member's change only moves the counts (sent a moment later, coalesced)."""
        if not peer.audience:
            return True
        self._counts_changed(room)
        return False

    def _counts_changed(self, room: str) -> None:
        if room not in self._counting:
            task = asyncio.ensure_future(self._send_counts(room))
            self._counting[room] = task
            task.add_done_callback(lambda _: self._counting.pop(room, None))

    async def _send_counts(self, room: str) -> None:
        try:
            await asyncio.sleep(COUNTS_INTERVAL)
            records = await self.state.list_peers(room)
            counts = audience_counts(records)
            if not any(r.admitted for r in records):
                self._sent.pop(room, None)
                return
            if self._sent.get(room) != counts:
                self._sent[room] = counts
                await self._to_room(room, "audience", counts, None)
        except Exception as exc:
            log.error("signaling.lecture.counts_failed room=%s error=%s", room,
                      type(exc).__name__)

    async def counts(self, room: str) -> dict[str, int]:
        """The audience counts for a join ack."""
        return audience_counts(await self.state.list_peers(room))

    async def handle(self, room: str, grant: JoinGrant, by: str,
                     payload: LecturePayload) -> dict[str, Any]:
        """One `lecture` event; the ack."""
        if grant.room_kind != "lecture":
            raise SignalingError("forbidden", "this room is not a lecture")
        if not grant.moderate:
            raise SignalingError("forbidden", "the grant does not allow moderation")
        action = payload.root
        if isinstance(action, LectureViewers):
            records = await self.state.list_peers(room)
            page = viewer_page(records, action.page, action.size)
            counts = audience_counts(records)
            return ok(viewers=[wire(p) for p in page], page=action.page, size=action.size,
                      total=counts["viewers"], hands=counts["hands"])
        return await self._stage(room, by, action)

    async def _stage(self, room: str, by: str, p: LectureStage) -> dict[str, Any]:
        target = await self.state.get_peer(room, p.target)
        promote = p.action == "promote"
        if target is None or not target.admitted or target.peer.audience != promote:
            where = "in the audience" if promote else "on stage"
            raise SignalingError("peer_not_found", f"no such peer {where}")
        if target.peer.moderator:
            raise SignalingError("invalid_payload", "target: moderators stay on stage")
        # On stage the raised hand has been answered; back in the audience it starts afresh.
        peer = target.peer.model_copy(update={
            "audience": not promote,
            "state": target.peer.state.model_copy(update={"hand": False}),
        })
        await self.state.put_peer(room, target.model_copy(update={"peer": peer}))
        log.info("signaling.lecture.%s room=%s by=%s target=%s", p.action, room, by, p.target)
        notice = {"action": p.action, "target": p.target, "by": by}
        await self._to_socket(target.sid, "moderated", notice)
        if promote:
            await self._to_room(room, "peer-joined", wire(peer), target.sid)
        else:
            await self._end_publishing(room, p.target)
            await self._to_room(room, "peer-left", {"peer_id": p.target, "reason": "demoted"},
                                target.sid)
        self._counts_changed(room)
        return ok()

    async def _end_publishing(self, room: str, peer_id: str) -> None:
        if self.media is None:
            return
        try:
            # Its tracks end: subscribers get offers without them (SfuSessions).
            await self.media.close_leg(room, peer_id, "publish")
        except MediaRefused as exc:  # it had not published
            log.info("signaling.lecture.close_refused room=%s peer=%s code=%s", room, peer_id,
                     exc.code)

    async def shutdown(self) -> None:
        """Cancel pending count updates."""
        tasks = list(self._counting.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
