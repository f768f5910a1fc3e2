"""Room state behind one async interface: peers (joined and waiting), chat, bars, media mode.

Shaped like python-socketio's managers: `MemoryRoomState` for one process, and later a Redis
implementation behind the same methods for many. So every value is plain serializable data, and
each method is one atomic step (one Lua script or MULTI in Redis); sockets and timers stay in the
namespace. A peer's socket id lives in its record because any process may need to reach it
(socket.io's Redis manager routes `emit(to=sid)` to the process holding the socket).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from .protocol import CHAT_HISTORY, ChatMessage, Peer
from .recording import Consent, RecordingInfo
from .topology import Mode


class PeerRecord(BaseModel):
    """A peer as the server keeps it: the wire `Peer` plus where and how it is attached."""

    model_config = ConfigDict(extra="forbid")

    peer: Peer
    sid: str  # the socket that joined last; kept while disconnected to compare on expiry
    admitted: bool  # False while in the waiting room
    token_id: str  # barred when the peer is removed or refused
    # When the join grant it joined with expires: its TURN credentials expire with it, whichever
    # process admits it.
    grant_exp: int = 0
    # A guest's invite link (signaling/guests.py): revoked when the guest is removed.
    link_id: str | None = None


class StateUnavailable(Exception):
    """The shared state could not be reached in time (Redis down or overloaded): the event is
    refused with `unavailable`, which the client may retry; nothing about it is a bug."""


class RoomState(ABC):
    @abstractmethod
    async def get_peer(self, room: str, peer_id: str) -> PeerRecord | None:
        """The peer's record, joined or waiting."""

    @abstractmethod
    async def list_peers(self, room: str) -> list[PeerRecord]:
        """Every record in the room, joined and waiting, in the order they first arrived."""

    @abstractmethod
    async def put_peer(self, room: str, record: PeerRecord) -> None:
        """Insert or replace a record (a replaced one keeps its place in the order)."""

    @abstractmethod
    async def claim_peer(self, room: str, record: PeerRecord) -> str | None:
        """`put_peer` unless another peer of the room holds the record's token (joined or waits
        with the same `token_id`): then that peer's id, and no change. One join token, one
        participant; the holder itself may replace its record (a resumed peer)."""

    @abstractmethod
    async def update_peer(
        self, room: str, peer_id: str, *, state: dict[str, Any] | None = None,
        connected: bool | None = None, admitted: bool | None = None, if_sid: str | None = None,
    ) -> PeerRecord | None:
        """Change some fields of a record in one step; None when there is no such peer
        (or, with `if_sid`, when another socket has taken the peer over since)."""

    @abstractmethod
    async def remove_peer(
        self, room: str, peer_id: str, *, if_disconnected_sid: str | None = None
    ) -> PeerRecord | None:
        """Remove and return a record. With `if_disconnected_sid`, only if that socket was
        the peer's last one and it is still disconnected (a reconnect grace running out)."""

    @abstractmethod
    async def add_chat(self, room: str, message: ChatMessage) -> None:
        """Append to the history, keeping the last 100 messages."""

    @abstractmethod
    async def chat_history(self, room: str) -> list[ChatMessage]:
        """The kept messages, oldest first."""

    @abstractmethod
    async def bar(self, room: str, key: str, until: float) -> None:
        """Remember `key` (a token id, a user id) as barred from the room until `until`."""

    @abstractmethod
    async def is_barred(self, room: str, key: str, now: float) -> bool:
        """Whether `key` is barred from the room at `now`."""

    # Revoked guest links outlive calls (a link lives up to a week, a call ends when it empties),
    # so they are kept apart from the room, each until its link expires.

    @abstractmethod
    async def revoke_link(self, room: str, link_id: str, until: float) -> None:
        """Refuse the guest invite link `link_id` of the room until `until`."""

    @abstractmethod
    async def is_link_revoked(self, room: str, link_id: str, now: float) -> bool:
        """Whether the room's guest link `link_id` is revoked at `now`."""

    @abstractmethod
    async def get_mode(self, room: str) -> Mode:
        """Whether the room's media goes peer to peer or through the SFU (`p2p` when unset)."""

    @abstractmethod
    async def set_mode(self, room: str, mode: Mode) -> None:
        """Record the room's mode; a room nobody is in keeps none."""

    # The case panel's agenda position (signaling/agenda.py): a number only, never case content.

    @abstractmethod
    async def get_agenda(self, room: str) -> int | None:
        """The agenda position the chair moved the room to (None: not moved yet)."""

    @abstractmethod
    async def set_agenda(self, room: str, item: int) -> bool:
        """Record the room's agenda position; False (no change) when nobody is in the room."""

    # A recording outlives the room's peers: it lasts until it is ended, so the departure that
    # empties a room can still stop it (signaling/recording_session.py).

    @abstractmethod
    async def get_recording(self, room: str) -> RecordingInfo | None:
        """The room's running recording, with every answer given so far."""

    @abstractmethod
    async def start_recording(self, room: str, info: RecordingInfo) -> bool:
        """Record that `info` started; False (and no change) when one is running already."""

    @abstractmethod
    async def set_consent(
        self, room: str, recording_id: str, peer_id: str, consent: Consent
    ) -> RecordingInfo | None:
        """Store a peer's answer if recording `recording_id` is still the room's; the updated
        recording, or None when it is not."""

    @abstractmethod
    async def end_recording(self, room: str, recording_id: str) -> RecordingInfo | None:
        """Forget recording `recording_id` if it is the room's; what it was, else None."""

    # --- the media node a room is placed on (web/calls/media_fleet.py) ---------------------------
    # Not abstract: a backend written before placement existed still works without a fleet.

    async def get_media_node(self, room: str) -> str | None:
        """The id of the media node the room is placed on, or None."""
        raise NotImplementedError

    async def claim_media_node(self, room: str, node_id: str) -> str:
        """Place the room on `node_id` unless it is placed already; the node it is on now."""
        raise NotImplementedError

    async def move_media_node(self, room: str, dead_node: str, node_id: str) -> bool:
        """Re-place the room from `dead_node` (or from nowhere) onto `node_id`; False, with no
        change, when another process moved it first."""
        raise NotImplementedError

    async def release_media_node(self, room: str, node_id: str) -> None:
        """Forget the room's placement if it is still on `node_id` (the room closed)."""
        raise NotImplementedError


@dataclass
class _Room:
    peers: dict[str, PeerRecord] = field(default_factory=dict)
    chat: deque[ChatMessage] = field(default_factory=lambda: deque(maxlen=CHAT_HISTORY))
    barred: dict[str, float] = field(default_factory=dict)
    mode: Mode = "p2p"
    agenda: int | None = None


class MemoryRoomState(RoomState):
    """One process's rooms in a dict. Methods never await, so each is atomic on the loop.

    A room, with its chat history and bars, lasts as long as the call: until nobody is in it.
    """

    def __init__(self) -> None:
        self._rooms: dict[str, _Room] = {}
        self._recordings: dict[str, RecordingInfo] = {}
        self._revoked_links: dict[tuple[str, str], float] = {}

    def _room(self, room: str) -> _Room:
        return self._rooms.setdefault(room, _Room())

    def _drop_if_empty(self, room: str) -> None:
        if room in self._rooms and not self._rooms[room].peers:
            del self._rooms[room]

    async def get_peer(self, room: str, peer_id: str) -> PeerRecord | None:
        found = self._rooms.get(room)
        return found.peers.get(peer_id) if found else None

    async def list_peers(self, room: str) -> list[PeerRecord]:
        found = self._rooms.get(room)
        return list(found.peers.values()) if found else []

    async def put_peer(self, room: str, record: PeerRecord) -> None:
        self._room(room).peers[record.peer.peer_id] = record

    async def claim_peer(self, room: str, record: PeerRecord) -> str | None:
        found = self._rooms.get(room)
        for other in found.peers.values() if found else ():
            if other.token_id == record.token_id and other.peer.peer_id != record.peer.peer_id:
                return other.peer.peer_id
        self._room(room).peers[record.peer.peer_id] = record
        return None

    async def update_peer(
        self, room: str, peer_id: str, *, state: dict[str, Any] | None = None,
        connected: bool | None = None, admitted: bool | None = None, if_sid: str | None = None,
    ) -> PeerRecord | None:
        record = await self.get_peer(room, peer_id)
        if record is None or (if_sid is not None and record.sid != if_sid):
            return None
        peer_changes: dict[str, Any] = {}
        if state:
            peer_changes["state"] = record.peer.state.model_copy(update=state)
        if connected is not None:
            peer_changes["connected"] = connected
        record = record.model_copy(update={
            "peer": record.peer.model_copy(update=peer_changes),
            **({"admitted": admitted} if admitted is not None else {}),
        })
        self._rooms[room].peers[peer_id] = record
        return record

    async def remove_peer(
        self, room: str, peer_id: str, *, if_disconnected_sid: str | None = None
    ) -> PeerRecord | None:
        record = await self.get_peer(room, peer_id)
        if record is None:
            return None
        if if_disconnected_sid is not None and (
            record.sid != if_disconnected_sid or record.peer.connected
        ):
            return None
        del self._rooms[room].peers[peer_id]
        self._drop_if_empty(room)
        return record

    async def add_chat(self, room: str, message: ChatMessage) -> None:
        self._room(room).chat.append(message)

    async def chat_history(self, room: str) -> list[ChatMessage]:
        found = self._rooms.get(room)
        return list(found.chat) if found else []

    async def bar(self, room: str, key: str, until: float) -> None:
        found = self._rooms.get(room)
        if found is not None:  # a room nobody is in has no call to be barred from
            found.barred[key] = until

    async def is_barred(self, room: str, key: str, now: float) -> bool:
        found = self._rooms.get(room)
        return found is not None and found.barred.get(key, now) > now

    async def revoke_link(self, room: str, link_id: str, until: float) -> None:
        # Revocations are rare: forgetting the expired ones here keeps the dict small.
        now = time.time()
        for key in [k for k, t in self._revoked_links.items() if t <= now]:
            del self._revoked_links[key]
        self._revoked_links[(room, link_id)] = until

    async def is_link_revoked(self, room: str, link_id: str, now: float) -> bool:
        return self._revoked_links.get((room, link_id), now) > now

    async def get_mode(self, room: str) -> Mode:
        found = self._rooms.get(room)
        return found.mode if found else "p2p"

    async def set_mode(self, room: str, mode: Mode) -> None:
        found = self._rooms.get(room)
        if found is not None:
            found.mode = mode

    async def get_agenda(self, room: str) -> int | None:
        found = self._rooms.get(room)
        return found.agenda if found else None

    async def set_agenda(self, room: str, item: int) -> bool:
        found = self._rooms.get(room)
        if found is None:
            return False
        found.agenda = item
        return True

    async def get_recording(self, room: str) -> RecordingInfo | None:
        return self._recordings.get(room)

    async def start_recording(self, room: str, info: RecordingInfo) -> bool:
        if room in self._recordings:
            return False
        self._recordings[room] = info
        return True

    async def set_consent(
        self, room: str, recording_id: str, peer_id: str, consent: Consent
    ) -> RecordingInfo | None:
        info = self._recordings.get(room)
        if info is None or info.id != recording_id:
            return None
        info = info.model_copy(update={"consents": {**info.consents, peer_id: consent}})
        self._recordings[room] = info
        return info

    async def end_recording(self, room: str, recording_id: str) -> RecordingInfo | None:
        info = self._recordings.get(room)
        if info is None or info.id != recording_id:
            return None
        return self._recordings.pop(room)

    # --- the media node a room is placed on -----------------------------------------------

    def _placements(self) -> dict[str, str]:
        # Created on first use, so placement needs nothing of the constructor.
        placements: dict[str, str] = vars(self).setdefault("_media_nodes", {})
        return placements

    async def get_media_node(self, room: str) -> str | None:
        return self._placements().get(room)

    async def claim_media_node(self, room: str, node_id: str) -> str:
        return self._placements().setdefault(room, node_id)

    async def move_media_node(self, room: str, dead_node: str, node_id: str) -> bool:
        placements = self._placements()
        if placements.get(room, dead_node) != dead_node:
            return False
        placements[room] = node_id
        return True

    async def release_media_node(self, room: str, node_id: str) -> None:
        placements = self._placements()
        if placements.get(room) == node_id:
            del placements[room]
