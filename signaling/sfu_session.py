"""Calls through the SFU (PROTOCOL.md, "Through the SFU"): room mode, the `sfu` event, and the
subscription offers the server sends each peer.

`CallNamespace` stays the dispatch point; it tells `SfuSessions` when peers are admitted,
resume, change state and depart, and hands it `sfu` events. The media node is reached only
through `MediaPort`. Rooms' modes live in `RoomState`; what is negotiating with whom lives here,
in the process that holds the peer's socket.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import SignalingError
from .grants import JoinGrant, RoomKind
from .media_port import (
    MediaChange,
    MediaPort,
    MediaRefused,
    MediaTrack,
    RoomMoved,
    SubscriptionOffer,
)
from .protocol import (
    SfuAnswer,
    SfuCandidate,
    SfuPayload,
    SfuPublish,
    SfuReceive,
    check_sdp,
    ok,
)
from .publish_limits import PublishBudget
from .roomstate import PeerRecord, RoomState
from .subscription import Offered, Subscription
from .topology import Mode, decide_mode, needs_sfu_from_start

log = logging.getLogger("junta.signaling.sfu")

ToRoom = Callable[[str, str, dict[str, Any], str | None], Awaitable[None]]
"""(room, event, data, skip_sid): emit to everyone in a room but `skip_sid`."""
ToSocket = Callable[[str, str, dict[str, Any]], Awaitable[None]]
"""(sid, event, data): emit to one socket."""
MovedHook = Callable[[str, bool], Awaitable[None]]
"""(room, first): the room's media node died and it was re-created elsewhere."""


@dataclass
class _RoomSessions:
    kind: RoomKind
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Peers whose grant lets them subscribe, by peer id.
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    # Every admitted peer whose socket this process holds (publishers that do not subscribe
    # too): told to publish again when the room moves to another media node.
    local: set[str] = field(default_factory=set)
    # What each peer has published in the call, against the limits of `publish_limits`.
    budgets: dict[str, PublishBudget] = field(default_factory=dict)


def track_source(track: MediaTrack, publisher: PeerRecord | None) -> str:
    """`screen` when the track's stream is the one its publisher announced as its screen."""
    if publisher is not None and publisher.peer.state.screen_stream == track.stream_id:
        return "screen"
    return "camera"


def offer_event(
    offer: SubscriptionOffer, peers: dict[str, PeerRecord]
) -> tuple[Offered, dict[str, Any]]:
    """What an offer carries (to compare with later wishes) and its `sfu` event."""
    sources = {
        mid: track_source(t, peers.get(t.publisher_id)) for mid, t in offer.tracks_by_mid.items()
    }
    tracks = {
        mid: {"peer_id": t.publisher_id, "kind": t.kind, "source": sources[mid],
              "stream_id": t.stream_id}
        for mid, t in offer.tracks_by_mid.items()
    }
    offered = frozenset((t.track_id, sources[mid]) for mid, t in offer.tracks_by_mid.items())
    event = {"kind": "offer", "description": {"type": "offer", "sdp": offer.sdp},
             "tracks": tracks}
    return offered, event


class SfuSessions:
    """Each room's mode and each subscribing peer's negotiation with the media node."""

    def __init__(
        self, *, media: MediaPort | None, state: RoomState, to_room: ToRoom, to_socket: ToSocket
    ) -> None:
        self.media = media
        self.state = state
        self._to_room = to_room
        self._to_socket = to_socket
        self._rooms: dict[str, _RoomSessions] = {}
        self._moved_hooks: list[MovedHook] = []
        if media is not None:
            media.listen(self._on_track_change)

    def on_room_moved(self, hook: MovedHook) -> None:
        """Call `hook` when a room's media node died and the room moved (e.g. its recording
        cannot follow); it runs before the room's peers are told to publish again."""
        self._moved_hooks.append(hook)

    # --- room lifecycle (called by CallNamespace) -----------------------------------------

    async def check_available(self, grant: JoinGrant) -> None:
        """Refuse a join to a room that needs the SFU from the start when there is none, or
        when the media node cannot open it (unreachable): the client says so and retries."""
        if not needs_sfu_from_start(grant.room_kind, recording=False):
            return
        # A room already on the SFU has its media room open; a first joiner opens it here
        # (creating a room is idempotent), so a lecture never starts peer to peer.
        if self.media is None or (await self.state.get_mode(grant.room) == "p2p"
                                  and not await self._open_media_room(grant.room)):
            raise SignalingError("media_unavailable", "no media node can take this room")

    async def mode(self, room: str) -> Mode:
        """The room's current mode."""
        return await self.state.get_mode(room)

    async def admitted(
        self, room: str, kind: RoomKind, peer_id: str, may_subscribe: bool, sid: str
    ) -> Mode:
        """A peer entered the call (joined or admitted): move the room to the SFU if it is
        time, telling the others before they hear of the newcomer; returns the room's mode."""
        sessions = self._rooms.setdefault(room, _RoomSessions(kind))
        sessions.local.add(peer_id)
        if may_subscribe:
            sessions.subscriptions[peer_id] = Subscription()
        else:
            sessions.subscriptions.pop(peer_id, None)
        async with sessions.lock:
            current = await self.state.get_mode(room)
            joined = sum(r.admitted for r in await self.state.list_peers(room))
            wanted = decide_mode(sessions.kind, joined, False, current)
            if wanted == "sfu" and current == "p2p" and await self._open_media_room(room):
                await self.state.set_mode(room, "sfu")
                log.info("signaling.sfu.mode room=%s mode=sfu joined=%d kind=%s", room, joined,
                         sessions.kind)
                await self._to_room(room, "mode", {"mode": "sfu"}, sid)
                current = "sfu"
        if current == "sfu":
            self._schedule(room, peer_id)
        return current

    async def require_sfu(self, room: str, kind: RoomKind) -> None:
        """Move a room to the SFU now, whatever its size, because it is about to be recorded
        (`decide_mode(recording=True)`); `media_unavailable` when no media node can take it."""
        sessions = self._rooms.setdefault(room, _RoomSessions(kind))
        async with sessions.lock:
            current = await self.state.get_mode(room)
            joined = sum(r.admitted for r in await self.state.list_peers(room))
            if current == "sfu" or decide_mode(sessions.kind, joined, True, current) != "sfu":
                return
            if not await self._open_media_room(room):
                raise SignalingError("media_unavailable", "no media node can take this room")
            await self.state.set_mode(room, "sfu")
            log.info("signaling.sfu.mode room=%s mode=sfu joined=%d reason=recording", room,
                     joined)
            await self._to_room(room, "mode", {"mode": "sfu"}, None)
        self._schedule_all(room)

    async def resumed(self, room: str, peer_id: str) -> None:
        """A peer came back on a new socket: re-send the offer it may have missed."""
        sessions = self._rooms.get(room)
        sub = sessions.subscriptions.get(peer_id) if sessions else None
        if sub is None or await self.state.get_mode(room) != "sfu":
            return
        if sub.pending is not None:
            self._spawn(room, self._resend(room, peer_id, sub.pending))
        else:
            self._schedule(room, peer_id)

    async def state_changed(self, room: str) -> None:
        """A peer's `screen_stream` changed: the sources others were told may have too."""
        if room in self._rooms and await self.state.get_mode(room) == "sfu":
            self._schedule_all(room)

    async def departed(self, room: str, peer_id: str) -> None:
        """A peer is out of the call for good: close its media; close the room when empty."""
        sessions = self._rooms.get(room)
        if sessions is None:
            return
        sessions.subscriptions.pop(peer_id, None)
        sessions.local.discard(peer_id)
        sessions.budgets.pop(peer_id, None)
        async with sessions.lock:
            # Another departure may have closed the room while we waited for the lock, and a
            # joiner may since have opened a new one: only the sessions we hold are ours to end.
            if self._rooms.get(room) is not sessions:
                return
            mode = await self.state.get_mode(room)
            if mode == "sfu" and self.media is not None:
                try:
                    # Its tracks end: the others get offers without them (_on_track_change).
                    await self.media.leave(room, peer_id)
                except MediaRefused as exc:
                    log.info("signaling.sfu.leave_refused room=%s peer=%s code=%s", room,
                             peer_id, exc.code)
            if any(r.admitted for r in await self.state.list_peers(room)):
                return
            del self._rooms[room]  # still ours: checked under the lock above
            for task in sessions.tasks:
                task.cancel()
            await self.state.set_mode(room, "p2p")
            if mode == "sfu" and self.media is not None:
                await self.media.close_room(room)
                log.info("signaling.sfu.room_closed room=%s", room)

    async def shutdown(self) -> None:
        """Cancel offers being made; the media node is closed by whoever made it."""
        tasks = [task for sessions in self._rooms.values() for task in sessions.tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- the `sfu` event ------------------------------------------------------------------

    async def handle(self, room: str, grant: JoinGrant, peer_id: str,
                     payload: SfuPayload) -> dict[str, Any]:
        """One `sfu` event from a joined peer; the ack."""
        if await self.state.get_mode(room) != "sfu" or self.media is None:
            raise SignalingError("not_sfu", "this room's media goes peer to peer")
        media = self.media
        action = payload.root
        try:
            if isinstance(action, SfuPublish):
                return await self._publish(media, room, grant, peer_id, action)
            if isinstance(action, SfuAnswer):
                return await self._answer(media, room, grant, peer_id, action)
            if isinstance(action, SfuCandidate):
                return await self._candidate(media, room, grant, peer_id, action)
            if isinstance(action, SfuReceive):
                return await self._receive(media, room, grant, peer_id, action)
            return await self._resubscribe(media, room, grant, peer_id)
        except MediaRefused as exc:
            log.info("signaling.sfu.refused room=%s peer=%s action=%s code=%s", room, peer_id,
                     action.action, exc.code)
            raise SignalingError("media_error", f"{exc.code}: {exc.message}") from None

    async def _publish(self, media: MediaPort, room: str, grant: JoinGrant, peer_id: str,
                       p: SfuPublish) -> dict[str, Any]:
        if not grant.publish:
            raise SignalingError("forbidden", "the grant does not allow publishing")
        check_sdp(p.description.sdp)
        sessions = self._rooms.get(room)
        now = time.monotonic()
        budget = (sessions.budgets.setdefault(peer_id, PublishBudget(now)) if sessions
                  else PublishBudget(now))
        new = budget.new_tracks(p.description.sdp, p.restart, now, p.layers)
        if p.restart:
            await media.close_leg(room, peer_id, "publish")
        answer = await media.publish(room, peer_id, p.description.sdp, p.layers)
        budget.spent(new, p.restart, time.monotonic())
        log.info("signaling.sfu.published room=%s peer=%s restart=%s", room, peer_id, p.restart)
        return ok(description={"type": "answer", "sdp": answer})

    async def _answer(self, media: MediaPort, room: str, grant: JoinGrant, peer_id: str,
                      p: SfuAnswer) -> dict[str, Any]:
        sub = self._subscription(room, grant, peer_id)
        check_sdp(p.description.sdp)
        if not sub.awaiting_answer:
            raise SignalingError("media_error", "no subscription offer is waiting for an answer")
        try:
            await media.answer(room, peer_id, p.description.sdp)
        except MediaRefused as exc:
            if exc.code == "not_subscribed":  # the node dropped the connection meanwhile
                sub.reset()
                self._schedule(room, peer_id)
            raise
        if sub.answered():
            self._schedule(room, peer_id)
        return ok()

    async def _candidate(self, media: MediaPort, room: str, grant: JoinGrant, peer_id: str,
                         p: SfuCandidate) -> dict[str, Any]:
        if not (grant.publish if p.leg == "publish" else grant.subscribe):
            raise SignalingError("forbidden", f"the grant does not allow the {p.leg} leg")
        c = p.candidate
        # Browsers end their candidates with an empty one as often as with null.
        await media.add_ice_candidate(
            room, peer_id, p.leg, c.candidate if c and c.candidate else None,
            c.sdpMid if c else None, c.sdpMLineIndex if c else None,
        )
        return ok()

    async def _resubscribe(self, media: MediaPort, room: str, grant: JoinGrant,
                           peer_id: str) -> dict[str, Any]:
        sub = self._subscription(room, grant, peer_id)
        await media.close_leg(room, peer_id, "subscribe")
        sub.reset()
        self._schedule(room, peer_id)
        log.info("signaling.sfu.resubscribe room=%s peer=%s", room, peer_id)
        return ok()

    async def _receive(self, media: MediaPort, room: str, grant: JoinGrant, peer_id: str,
                       p: SfuReceive) -> dict[str, Any]:
        """Audio only (`video: false`) or video again: pause or resume, for this peer, every
        video track it was offered; offers made later follow the same wish (`_offer`)."""
        sub = self._subscription(room, grant, peer_id)
        sub.receive_video = p.video
        await self._pause_video(media, room, peer_id, sub.video_tracks, not p.video)
        log.info("signaling.sfu.receive room=%s peer=%s video=%s tracks=%d", room, peer_id,
                 p.video, len(sub.video_tracks))
        return ok()

    @staticmethod
    async def _pause_video(media: MediaPort, room: str, peer_id: str, tracks: frozenset[str],
                           paused: bool) -> None:
        for track_id in sorted(tracks):
            try:
                await media.set_paused(room, peer_id, track_id, paused)
            except MediaRefused as exc:
                # A track that ended meanwhile (or not forwarded to this peer any more).
                log.info("signaling.sfu.pause_skipped room=%s peer=%s track=%s code=%s", room,
                         peer_id, track_id, exc.code)

    def _subscription(self, room: str, grant: JoinGrant, peer_id: str) -> Subscription:
        sessions = self._rooms.get(room)
        sub = sessions.subscriptions.get(peer_id) if sessions else None
        if not grant.subscribe or sub is None:
            raise SignalingError("forbidden", "the grant does not allow subscribing")
        return sub

    # --- subscription offers --------------------------------------------------------------

    def _on_track_change(self, change: MediaChange) -> None:
        # Called by the media node inside its own call stack: only schedule work here.
        if change.room_id not in self._rooms:
            return
        if isinstance(change, RoomMoved):
            self._spawn(change.room_id, self._moved(change))
        else:
            self._schedule_all(change.room_id, skip=change.track.publisher_id)

    async def _moved(self, change: RoomMoved) -> None:
        """The room is on a new media node, empty: start every subscription over, and have
        this process's peers publish again (their tracks bring the others new offers)."""
        room = change.room_id
        sessions = self._rooms.get(room)
        if sessions is None:
            return
        log.warning("signaling.sfu.room_moved room=%s first=%s peers=%d", room, change.first,
                    len(sessions.local))
        for hook in self._moved_hooks:
            try:
                await hook(room, change.first)
            except Exception as exc:
                log.error("signaling.sfu.moved_hook_failed room=%s error=%s", room,
                          type(exc).__name__)
        for sub in sessions.subscriptions.values():
            sub.reset()
        for peer_id in list(sessions.local):
            current = await self.state.get_peer(room, peer_id)
            if current is not None and current.peer.connected:
                await self._to_socket(current.sid, "sfu", {"kind": "moved"})
        self._schedule_all(room)

    def _schedule_all(self, room: str, skip: str | None = None) -> None:
        sessions = self._rooms.get(room)
        for peer_id in list(sessions.subscriptions) if sessions else []:
            if peer_id != skip:
                self._schedule(room, peer_id)

    def _schedule(self, room: str, peer_id: str) -> None:
        self._spawn(room, self._offer(room, peer_id))

    def _spawn(self, room: str, work: Awaitable[None]) -> None:
        sessions = self._rooms.get(room)
        if sessions is None:
            if asyncio.iscoroutine(work):
                work.close()
            return
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        sessions.tasks.add(task)
        task.add_done_callback(sessions.tasks.discard)

    async def _offer(self, room: str, peer_id: str) -> None:
        """Send the peer a subscription offer if what it should receive has changed."""
        sessions = self._rooms.get(room)
        sub = sessions.subscriptions.get(peer_id) if sessions else None
        if sub is None or self.media is None or not sub.begin():
            return
        generation, made = sub.generation, False
        try:
            peers = {r.peer.peer_id: r for r in await self.state.list_peers(room)}
            me = peers.get(peer_id)
            if me is None or not me.admitted:
                return
            wanted = await self._wanted(room, peer_id, peers)
            if not sub.needs_offer(wanted):
                return
            offer = await self.media.subscribe(room, peer_id)
            if sub.generation != generation:
                return  # the leg was replaced meanwhile; the fresh one makes its own offer
            offered, event = offer_event(offer, peers)
            sub.video_tracks = frozenset(
                t.track_id for t in offer.tracks_by_mid.values() if t.kind == "video"
            )
            if not sub.receive_video:
                # Paused before the answer, so no video frame reaches a peer in audio only.
                await self._pause_video(self.media, room, peer_id, sub.video_tracks, True)
            sub.sent(offered, event)
            made = True
            log.info("signaling.sfu.offer room=%s peer=%s tracks=%d", room, peer_id,
                     len(offer.tracks_by_mid))
            current = await self.state.get_peer(room, peer_id)
            if current is not None and current.peer.connected:
                await self._to_socket(current.sid, "sfu", event)
        except MediaRefused as exc:
            log.info("signaling.sfu.offer_refused room=%s peer=%s code=%s", room, peer_id,
                     exc.code)
        except Exception as exc:
            log.error("signaling.sfu.offer_failed room=%s peer=%s error=%s", room, peer_id,
                      type(exc).__name__)
        finally:
            if not made and sub.generation == generation:
                sub.abandon()

    async def _wanted(self, room: str, peer_id: str, peers: dict[str, PeerRecord]) -> Offered:
        """What an offer made now should carry, in the terms `offer_event` records."""
        assert self.media is not None
        tracks = [t for t in await self.media.tracks(room) if t.publisher_id != peer_id]
        return frozenset((t.track_id, track_source(t, peers.get(t.publisher_id))) for t in tracks)

    async def _resend(self, room: str, peer_id: str, event: dict[str, Any]) -> None:
        current = await self.state.get_peer(room, peer_id)
        if current is not None and current.peer.connected:
            await self._to_socket(current.sid, "sfu", event)

    async def _open_media_room(self, room: str) -> bool:
        if self.media is None:
            log.warning("signaling.sfu.unavailable room=%s reason=no_media_node", room)
            return False
        try:
            await self.media.create_room(room)
        except (MediaRefused, OSError) as exc:
            log.error("signaling.sfu.unavailable room=%s error=%s", room, type(exc).__name__)
            return False
        return True
