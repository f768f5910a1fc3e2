"""Which way a room's media flows: directly between peers, or through the SFU (PROTOCOL.md)."""

from __future__ import annotations

from typing import Literal

from .grants import RoomKind

Mode = Literal["p2p", "sfu"]

# A mesh of n peers sends n - 1 copies of every track; from three on, the SFU costs less.
SFU_FROM_PEERS = 3
SFU_KINDS: frozenset[RoomKind] = frozenset({"board", "lecture"})


def needs_sfu_from_start(kind: RoomKind, recording: bool) -> bool:
    """Whether a room goes through the SFU from its first joiner, whatever its size."""
    return kind in SFU_KINDS or recording


def decide_mode(kind: RoomKind, joined_count: int, recording: bool, current_mode: Mode) -> Mode:
    """The mode a room should be in with `joined_count` joined peers.

    Once `sfu`, a room stays `sfu` until it empties: moving peers back and forth when someone
    drops and rejoins would renegotiate everyone for nothing.
    """
    if joined_count <= 0:
        return "p2p"
    if current_mode == "sfu" or needs_sfu_from_start(kind, recording):
        return "sfu"
    return "sfu" if joined_count >= SFU_FROM_PEERS else "p2p"
