"""What signaling needs from a media node (the SFU), as an interface signaling owns.

Signaling must not import `media`; the composition root adapts a media node to `MediaPort`
(`web.calls.media_bridge`). Every argument and result is plain data defined here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Leg = Literal["publish", "subscribe"]


class MediaRefused(Exception):
    """The media node refused a request; `code` is the node's stable code, `message` why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class MediaTrack:
    """A track published on the media node."""

    track_id: str
    publisher_id: str
    kind: Literal["audio", "video"]
    stream_id: str


@dataclass(frozen=True, slots=True)
class SubscriptionOffer:
    """The node's offer to a subscriber, and the published track each `mid` carries."""

    sdp: str
    tracks_by_mid: dict[str, MediaTrack]


@dataclass(frozen=True, slots=True)
class TrackChange:
    """A track was published or ended in a room: its subscribers need a new offer."""

    room_id: str
    track: MediaTrack
    published: bool


@dataclass(frozen=True, slots=True)
class RoomMoved:
    """The room's media node died and the room was re-created on another one: every
    participant must publish and subscribe again there. `first` is true in the one process
    that made the move (which ends what cannot follow, such as the room's recording)."""

    room_id: str
    first: bool


MediaChange = TrackChange | RoomMoved
TrackListener = Callable[[MediaChange], None]


class MediaPort(Protocol):
    """A media node as signaling drives it. Refusals raise `MediaRefused`."""

    def listen(self, listener: TrackListener) -> None:
        """Call `listener` (synchronously, on the event loop) on every track change, and when
        a room moves to another node (`RoomMoved`, from a fleet of nodes only)."""
        ...

    async def create_room(self, room_id: str) -> None:
        """Create a room; creating an existing room is a no-op."""
        ...

    async def publish(
        self, room_id: str, peer_id: str, offer_sdp: str, layers: Sequence[Sequence[str]] = ()
    ) -> str:
        """Apply a participant's publishing offer (first or renegotiated); return the answer.
        `layers`: groups of video mids that are one camera's encodings, best first."""
        ...

    async def subscribe(self, room_id: str, peer_id: str) -> SubscriptionOffer:
        """Offer a participant every other participant's tracks; call again after changes."""
        ...

    async def answer(self, room_id: str, peer_id: str, answer_sdp: str) -> None:
        """Apply a participant's answer to its latest subscription offer."""
        ...

    async def add_ice_candidate(
        self, room_id: str, peer_id: str, leg: Leg, candidate: str | None,
        sdp_mid: str | None, sdp_mline_index: int | None,
    ) -> None:
        """Add a participant's ICE candidate to one of its connections; None ends them."""
        ...

    async def tracks(self, room_id: str) -> list[MediaTrack]:
        """The tracks published in a room."""
        ...

    async def set_paused(self, room_id: str, peer_id: str, track_id: str, paused: bool) -> None:
        """Stop (or restart) forwarding one track to one subscriber; the track stays offered."""
        ...

    async def close_leg(self, room_id: str, peer_id: str, leg: Leg) -> None:
        """Close one of a participant's connections (the client replaces a failed one)."""
        ...

    async def leave(self, room_id: str, peer_id: str) -> None:
        """Close a participant's connections and end what it published."""
        ...

    async def close_room(self, room_id: str) -> None:
        """Close every connection in a room and forget it."""
        ...
