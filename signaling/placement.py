"""Which media node takes a room: the rules, without Redis or HTTP (see web/calls/media_fleet.py).

A room goes to the least loaded live node and stays there while that node lives (the choice is
stored with `RoomState.claim_media_node`, so every process agrees). A node whose registration
expired is dead: its rooms move to the least loaded live node, each once
(`RoomState.move_media_node` is a compare-and-set).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """A live media node as it registered itself: where to reach it and how busy it is."""

    node_id: str
    url: str
    rooms: int = 0
    publishers: int = 0
    subscribers: int = 0
    forwarded_streams: int = 0

    @property
    def load(self) -> tuple[int, int, int]:
        """What "least loaded" compares: forwarded streams cost most, then people, then rooms."""
        return (self.forwarded_streams, self.publishers + self.subscribers, self.rooms)


def least_loaded(
    nodes: Iterable[NodeRecord], *, exclude: Iterable[str] = ()
) -> NodeRecord | None:
    """The live node that should take a new room, or None when there is none.

    Ties go to the smallest id, so processes looking at the same registrations choose alike.
    """
    excluded = set(exclude)
    candidates = [n for n in nodes if n.node_id not in excluded]
    if not candidates:
        return None
    return min(candidates, key=lambda n: (n.load, n.node_id))


def with_room(node: NodeRecord) -> NodeRecord:
    """`node` counted with one more room (placements made before its next heartbeat)."""
    return NodeRecord(node.node_id, node.url, node.rooms + 1, node.publishers,
                      node.subscribers, node.forwarded_streams)


def rooms_to_move(placements: Mapping[str, str], live: Iterable[str]) -> dict[str, str]:
    """The rooms (room → dead node) placed on a node that is no longer live."""
    alive = set(live)
    return {room: node for room, node in placements.items() if node not in alive}
