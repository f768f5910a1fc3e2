"""The interface signaling uses to reach a media node, and the in-process implementation.

Signaling calls these few methods whether the node runs in the same process (`LocalMediaNode`)
or as `junta media` behind an internal API (a client implementing the same protocol). Every
argument and result is plain data (strings, dataclasses), so it serialises as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from aiortc import RTCIceServer

from media.codecs import DEFAULT_VIDEO_CODECS
from media.errors import MediaError
from media.events import MediaEvent
from media.published_track import TrackInfo
from media.room import Connection, Room, SubscriptionOffer


@dataclass(frozen=True, slots=True)
class NodeLoad:
    """How busy a media node is: what node assignment and health checks look at."""

    rooms: int
    publishers: int
    subscribers: int
    forwarded_streams: int


class MediaNode(Protocol):
    """What signaling asks of a media node. Failures raise `MediaError` with a stable code."""

    async def create_room(self, room_id: str) -> None:
        """Create a room; creating an existing room is a no-op."""
        ...

    async def publish(self, room_id: str, peer_id: str, offer_sdp: str) -> str:
        """Apply a participant's publishing offer (first or renegotiated); return the answer."""
        ...

    async def subscribe(self, room_id: str, peer_id: str) -> SubscriptionOffer:
        """Offer a participant every other participant's tracks; call again after changes."""
        ...

    async def answer(self, room_id: str, peer_id: str, answer_sdp: str) -> None:
        """Apply a participant's answer to its latest subscription offer."""
        ...

    async def add_ice_candidate(
        self,
        room_id: str,
        peer_id: str,
        connection: Connection,
        candidate: str | None,
        sdp_mid: str | None = None,
        sdp_mline_index: int | None = None,
    ) -> None:
        """Add a participant's trickled ICE candidate to one of its connections; None ends."""
        ...

    async def set_paused(self, room_id: str, peer_id: str, track_id: str, paused: bool) -> None:
        """Stop or restart forwarding one track to one subscriber."""
        ...

    async def tracks(self, room_id: str) -> list[TrackInfo]:
        """The tracks published in a room."""
        ...

    async def leave(self, room_id: str, peer_id: str) -> None:
        """Close a participant's connections and end what it published."""
        ...

    async def close_room(self, room_id: str) -> None:
        """Close every connection in a room and forget it."""
        ...

    async def load(self) -> NodeLoad:
        """Rooms, participants and forwarded streams on this node."""
        ...


class LocalMediaNode:
    """A media node in this process: a set of SFU rooms."""

    def __init__(
        self,
        *,
        ice_servers: Sequence[RTCIceServer] = (),
        video_codecs: Sequence[str] = DEFAULT_VIDEO_CODECS,
        on_event: Callable[[MediaEvent], None] | None = None,
    ) -> None:
        self._ice_servers = list(ice_servers)
        self._video_codecs = tuple(video_codecs)
        self._on_event = on_event
        self._rooms: dict[str, Room] = {}

    def room(self, room_id: str) -> Room:
        """A room of this node, for in-process callers and tests."""
        try:
            return self._rooms[room_id]
        except KeyError:
            raise MediaError("room_not_found", f"no room {room_id}") from None

    async def create_room(self, room_id: str) -> None:
        """Create a room; creating an existing room is a no-op."""
        if room_id not in self._rooms:
            self._rooms[room_id] = Room(
                room_id,
                ice_servers=self._ice_servers,
                video_codecs=self._video_codecs,
                on_event=self._on_event,
            )

    async def publish(self, room_id: str, peer_id: str, offer_sdp: str) -> str:
        """Apply a participant's publishing offer; return the answer."""
        return await self.room(room_id).publish(peer_id, offer_sdp)

    async def subscribe(self, room_id: str, peer_id: str) -> SubscriptionOffer:
        """Offer a participant every other participant's tracks."""
        return await self.room(room_id).subscribe(peer_id)

    async def answer(self, room_id: str, peer_id: str, answer_sdp: str) -> None:
        """Apply a participant's answer to its latest subscription offer."""
        await self.room(room_id).answer(peer_id, answer_sdp)

    async def add_ice_candidate(
        self,
        room_id: str,
        peer_id: str,
        connection: Connection,
        candidate: str | None,
        sdp_mid: str | None = None,
        sdp_mline_index: int | None = None,
    ) -> None:
        """Add a participant's trickled ICE candidate to one of its connections; None ends."""
        await self.room(room_id).add_ice_candidate(
            peer_id, connection, candidate, sdp_mid, sdp_mline_index
        )

    async def set_paused(self, room_id: str, peer_id: str, track_id: str, paused: bool) -> None:
        """Stop or restart forwarding one track to one subscriber."""
        self.room(room_id).set_paused(peer_id, track_id, paused)

    async def tracks(self, room_id: str) -> list[TrackInfo]:
        """The tracks published in a room."""
        return self.room(room_id).tracks

    async def leave(self, room_id: str, peer_id: str) -> None:
        """Close a participant's connections and end what it published."""
        await self.room(room_id).leave(peer_id)

    async def close_connection(self, room_id: str, peer_id: str, connection: Connection) -> None:
        """Close one of a participant's connections (its client replaces a failed one)."""
        await self.room(room_id).close_connection(peer_id, connection)

    async def close_room(self, room_id: str) -> None:
        """Close every connection in a room and forget it."""
        room = self._rooms.pop(room_id, None)
        if room is not None:
            await room.close()

    async def load(self) -> NodeLoad:
        """Rooms, participants and forwarded streams on this node."""
        rooms = list(self._rooms.values())
        return NodeLoad(
            rooms=len(rooms),
            publishers=sum(r.publisher_count for r in rooms),
            subscribers=sum(r.subscriber_count for r in rooms),
            forwarded_streams=sum(r.forwarded_streams for r in rooms),
        )

    async def close(self) -> None:
        """Close every room (process shutdown)."""
        for room_id in list(self._rooms):
            await self.close_room(room_id)
