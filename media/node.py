"""The interface signaling uses to reach a media node, and the in-process implementation.

Signaling calls these few methods whether the node runs in the same process (`LocalMediaNode`)
or as `junta media` behind an internal API (a client implementing the same protocol). Every
argument and result is plain data (strings, dataclasses), so it serialises as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from aiortc import RTCIceServer

from media.codecs import DEFAULT_VIDEO_CODECS
from media.errors import MediaError
from media.events import MediaEvent
from media.published_track import TrackInfo
from media.recording import RecordingManifest, RoomRecording, recording_directory
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

    async def start_recording(
        self, room_id: str, recording_id: str, excluded: frozenset[str]
    ) -> None:
        """Record every track of the room's participants but `excluded`, now and later ones."""
        ...

    async def set_recording_excluded(self, room_id: str, peer_id: str, excluded: bool) -> None:
        """Stop or start recording one participant (consent withdrawn or given)."""
        ...

    async def stop_recording(self, room_id: str) -> RecordingManifest:
        """Complete the room's recording; its manifest is also written as manifest.json."""
        ...


class LocalMediaNode:
    """A media node in this process: a set of SFU rooms."""

    def __init__(
        self,
        *,
        ice_servers: Sequence[RTCIceServer] = (),
        video_codecs: Sequence[str] = DEFAULT_VIDEO_CODECS,
        on_event: Callable[[MediaEvent], None] | None = None,
        recordings_dir: Path | None = None,
    ) -> None:
        self._ice_servers = list(ice_servers)
        self._video_codecs = tuple(video_codecs)
        self._on_event = on_event
        # Where recordings go; None: this node does not record.
        self._recordings_dir = recordings_dir
        self._rooms: dict[str, Room] = {}
        self._recordings: dict[str, RoomRecording] = {}

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

    async def publish(
        self, room_id: str, peer_id: str, offer_sdp: str, layers: Sequence[Sequence[str]] = ()
    ) -> str:
        """Apply a participant's publishing offer; return the answer."""
        return await self.room(room_id).publish(peer_id, offer_sdp, layers)

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

    async def start_recording(
        self, room_id: str, recording_id: str, excluded: frozenset[str]
    ) -> None:
        """Record every track of the room's participants but `excluded`, now and later ones."""
        room = self.room(room_id)
        if self._recordings_dir is None:
            raise MediaError("recording_unavailable", "this media node has no recordings root")
        if room_id in self._recordings:
            raise MediaError("recording_active", f"room {room_id} is already being recorded")
        directory = recording_directory(self._recordings_dir, recording_id)
        recording = RoomRecording(room, recording_id, directory, frozenset(excluded))
        recording.start()
        self._recordings[room_id] = recording

    async def set_recording_excluded(self, room_id: str, peer_id: str, excluded: bool) -> None:
        """Stop or start recording one participant (consent withdrawn or given)."""
        await self._recording(room_id).set_excluded(peer_id, excluded)

    async def stop_recording(self, room_id: str) -> RecordingManifest:
        """Complete the room's recording; its manifest is also written as manifest.json."""
        recording = self._recording(room_id)
        del self._recordings[room_id]
        return await recording.stop()

    def _recording(self, room_id: str) -> RoomRecording:
        self.room(room_id)
        try:
            return self._recordings[room_id]
        except KeyError:
            raise MediaError("not_recording", f"room {room_id} is not being recorded") from None

    async def close_room(self, room_id: str) -> None:
        """Close every connection in a room and forget it (completing its recording)."""
        recording = self._recordings.pop(room_id, None)
        if recording is not None:
            await recording.stop()
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
