"""A media node seen through signaling's `MediaPort`: the adapter between the two packages.

Signaling and media do not import each other; this module, in the composition root, translates
media's types and errors into signaling's plain ones and relays media's track events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from aiortc import RTCIceServer

from media.errors import MediaError
from media.events import MediaEvent, TrackPublished
from media.node import LocalMediaNode, MediaNode
from media.published_track import TrackInfo
from media.recording import RecordingManifest
from media.remote import RemoteMediaNode
from media.room import Connection
from signaling.media_port import (
    Leg,
    MediaRefused,
    MediaTrack,
    SubscriptionOffer,
    TrackChange,
    TrackListener,
)
from web.app.settings import Settings
from web.calls.media_events import DEFAULT_BACKOFF, Backoff, EventPump

log = logging.getLogger("junta.web.media")

MediaEventSink = Callable[[MediaEvent], None]


class BridgedNode(MediaNode, Protocol):
    """A media node that can also replace one of a participant's connections."""

    async def close_connection(self, room_id: str, peer_id: str, connection: Connection) -> None:
        """Close one of a participant's connections."""
        ...


class RecorderPort(Protocol):
    """What `web.calls.recording_bridge` asks of the media (a `MediaBridge` or a `MediaFleet`)."""

    async def start_recording(
        self, room_id: str, recording_id: str, excluded: frozenset[str]
    ) -> None: ...

    async def set_recording_excluded(
        self, room_id: str, peer_id: str, excluded: bool
    ) -> None: ...

    async def stop_recording(self, room_id: str) -> RecordingManifest: ...


def node_ice_servers(settings: Settings) -> list[RTCIceServer]:
    """The media node's own ICE servers: STUN to learn its public address. (aiortc's default
    public STUN server is unreachable in a closed network, so none is the default.)"""
    return [RTCIceServer(urls=list(settings.stun_urls))] if settings.stun_urls else []


def _track(info: TrackInfo) -> MediaTrack:
    return MediaTrack(info.track_id, info.publisher_id, info.kind, info.stream_id)


def _refused(exc: MediaError) -> MediaRefused:
    return MediaRefused(exc.code, exc.message)


class MediaBridge:
    """Implements `signaling.media_port.MediaPort` on a media node.

    `connect` builds the node given the sink its events must go to (`LocalMediaNode(on_event=)`).
    `start` (in the running loop) and `close` bracket its life.
    """

    def __init__(self, connect: Callable[[MediaEventSink], BridgedNode]) -> None:
        self._listeners: list[TrackListener] = []
        self.node = connect(self.deliver)
        # A remote node's events arrive over its websocket, read in the background.
        self.events: EventPump | None = None

    @classmethod
    def in_process(
        cls, *, ice_servers: Sequence[RTCIceServer] = (), recordings_dir: Path | None = None
    ) -> MediaBridge:
        """A bridge to a `LocalMediaNode` of its own (recording under `recordings_dir`)."""
        return cls(
            lambda sink: LocalMediaNode(
                ice_servers=ice_servers, on_event=sink, recordings_dir=recordings_dir
            )
        )

    @classmethod
    def remote(
        cls, url: str, secret: str, *, backoff: Backoff = DEFAULT_BACKOFF,
        on_lost: Callable[[], None] | None = None,
    ) -> MediaBridge:
        """A bridge to a `junta media` node at `url` (its API, `JUNTA_MEDIA_SECRET`);
        `on_lost` is called when its event stream drops (a fleet then checks the node)."""
        node = RemoteMediaNode(url, secret)
        bridge = cls(lambda sink: node)
        bridge.events = EventPump(node, bridge.deliver, backoff, on_lost=on_lost)
        return bridge

    async def start(self) -> None:
        """Start receiving a remote node's events (app startup)."""
        if self.events is not None:
            self.events.start()

    def deliver(self, event: MediaEvent) -> None:
        """Relay one of the node's events to signaling."""
        change = TrackChange(event.room_id, _track(event.track),
                             published=isinstance(event, TrackPublished))
        for listener in self._listeners:
            try:
                listener(change)
            except Exception as exc:
                log.error("media.listener_failed room=%s error=%s", event.room_id,
                          type(exc).__name__)

    def listen(self, listener: TrackListener) -> None:
        """Call `listener` on every track change."""
        self._listeners.append(listener)

    async def create_room(self, room_id: str) -> None:
        """Create a room; creating an existing room is a no-op."""
        try:
            await self.node.create_room(room_id)
        except MediaError as exc:
            raise _refused(exc) from None
        if self.events is not None:
            self.events.room_opened(room_id)

    async def publish(
        self, room_id: str, peer_id: str, offer_sdp: str, layers: Sequence[Sequence[str]] = ()
    ) -> str:
        """Apply a participant's publishing offer; return the answer."""
        try:
            return await self.node.publish(room_id, peer_id, offer_sdp, layers)
        except MediaError as exc:
            raise _refused(exc) from None

    async def subscribe(self, room_id: str, peer_id: str) -> SubscriptionOffer:
        """Offer a participant every other participant's tracks."""
        try:
            offer = await self.node.subscribe(room_id, peer_id)
        except MediaError as exc:
            raise _refused(exc) from None
        return SubscriptionOffer(
            offer.sdp, {mid: _track(info) for mid, info in offer.tracks_by_mid.items()}
        )

    async def answer(self, room_id: str, peer_id: str, answer_sdp: str) -> None:
        """Apply a participant's answer to its latest subscription offer."""
        try:
            await self.node.answer(room_id, peer_id, answer_sdp)
        except MediaError as exc:
            raise _refused(exc) from None

    async def add_ice_candidate(
        self, room_id: str, peer_id: str, leg: Leg, candidate: str | None,
        sdp_mid: str | None, sdp_mline_index: int | None,
    ) -> None:
        """Add a participant's ICE candidate to one of its connections; None ends them."""
        try:
            await self.node.add_ice_candidate(
                room_id, peer_id, leg, candidate, sdp_mid, sdp_mline_index
            )
        except MediaError as exc:
            raise _refused(exc) from None

    async def tracks(self, room_id: str) -> list[MediaTrack]:
        """The tracks published in a room."""
        try:
            return [_track(info) for info in await self.node.tracks(room_id)]
        except MediaError as exc:
            raise _refused(exc) from None

    async def set_paused(self, room_id: str, peer_id: str, track_id: str, paused: bool) -> None:
        """Stop (or restart) forwarding one track to one subscriber."""
        try:
            await self.node.set_paused(room_id, peer_id, track_id, paused)
        except MediaError as exc:
            raise _refused(exc) from None

    async def close_leg(self, room_id: str, peer_id: str, leg: Leg) -> None:
        """Close one of a participant's connections."""
        try:
            await self.node.close_connection(room_id, peer_id, leg)
        except MediaError as exc:
            raise _refused(exc) from None

    async def leave(self, room_id: str, peer_id: str) -> None:
        """Close a participant's connections and end what it published."""
        try:
            await self.node.leave(room_id, peer_id)
        except MediaError as exc:
            raise _refused(exc) from None

    async def close_room(self, room_id: str) -> None:
        """Close every connection in a room and forget it."""
        if self.events is not None:
            self.events.room_closed(room_id)
        try:
            await self.node.close_room(room_id)
        except MediaError as exc:
            raise _refused(exc) from None

    async def start_recording(
        self, room_id: str, recording_id: str, excluded: frozenset[str]
    ) -> None:
        """Record the room's tracks except those of `excluded` participants."""
        try:
            await self.node.start_recording(room_id, recording_id, excluded)
        except MediaError as exc:
            raise _refused(exc) from None

    async def set_recording_excluded(self, room_id: str, peer_id: str, excluded: bool) -> None:
        """Stop or start recording one participant (consent withdrawn or given)."""
        try:
            await self.node.set_recording_excluded(room_id, peer_id, excluded)
        except MediaError as exc:
            raise _refused(exc) from None

    async def stop_recording(self, room_id: str) -> RecordingManifest:
        """Complete the room's recording and return its manifest (also in manifest.json)."""
        try:
            return await self.node.stop_recording(room_id)
        except MediaError as exc:
            raise _refused(exc) from None

    async def close(self) -> None:
        """Close the node's rooms if it is in this process, else the connection to it."""
        if self.events is not None:
            await self.events.close()
        if isinstance(self.node, (LocalMediaNode, RemoteMediaNode)):
            await self.node.close()
