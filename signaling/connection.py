"""This process's sockets of `/call`: what it knows of each, and the member an event comes from.

The room itself lives in `RoomState`; a `Connection` only ties one socket to the grant and peer
it joined as, and carries its rate limits.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .grants import JoinGrant
from .ratelimit import TokenBucket
from .roomstate import PeerRecord

EVENTS_PER_SECOND = 50
CHATS_PER_SECOND = 5
# A page asks for fresh TURN credentials a few times per credential lifetime; a small burst
# covers a page that opens several connections at once.
ICE_PER_SECOND = 1
ICE_BURST = 3


@dataclass
class Connection:
    """What this process knows of one of its sockets; the room itself lives in RoomState."""

    sid: str
    events: TokenBucket
    chats: TokenBucket
    ice: TokenBucket
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


class Connections:
    """The sockets this process holds, by sid."""

    def __init__(self) -> None:
        self._by_sid: dict[str, Connection] = {}

    def open(self, sid: str, now: float) -> Connection:
        """A socket connected: it starts with full rate-limit buckets and no grant."""
        conn = Connection(
            sid,
            TokenBucket(EVENTS_PER_SECOND, EVENTS_PER_SECOND, now),
            TokenBucket(CHATS_PER_SECOND, CHATS_PER_SECOND, now),
            TokenBucket(ICE_PER_SECOND, ICE_BURST, now),
        )
        self._by_sid[sid] = conn
        return conn

    def close(self, sid: str) -> Connection | None:
        return self._by_sid.pop(sid, None)

    def get(self, sid: str) -> Connection | None:
        return self._by_sid.get(sid)

    def __iter__(self) -> Iterator[Connection]:
        # A copy: callers disconnect sockets, and so close connections, while they iterate.
        return iter(list(self._by_sid.values()))

    def census(self) -> tuple[int, dict[str, int]]:
        """How many sockets, and per room how many of them have joined."""
        rooms: dict[str, int] = {}
        for conn in self._by_sid.values():
            if conn.grant is not None and conn.peer_id is not None:
                rooms[conn.grant.room] = rooms.get(conn.grant.room, 0) + 1
        return len(self._by_sid), rooms
