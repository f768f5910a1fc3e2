"""One peer's subscription negotiation with the SFU: never two offers outstanding.

Pure bookkeeping, no I/O: `SfuSessions` asks `begin()` before making an offer, records what
it offered, and reports the answer; changes that arrive meanwhile make the next offer due.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

Offered = frozenset[Hashable]


class Subscription:
    """Where one peer's subscribe leg stands: idle, making an offer, or awaiting its answer."""

    def __init__(self) -> None:
        self.offered: Offered = frozenset()  # what the last offer carried
        self.pending: dict[str, Any] | None = None  # the offer awaiting an answer
        self.generation = 0  # bumped by reset(): work begun before it is void
        # "Audio only": the peer asked for no video; every video track it is offered is paused
        # for it on the media node (kept across reset(): the wish outlives one connection).
        self.receive_video = True
        self.video_tracks: frozenset[str] = frozenset()  # video track ids of the last offer
        self._busy = False
        self._stale = False

    @property
    def awaiting_answer(self) -> bool:
        """Whether an offer has gone out and its answer has not come back."""
        return self.pending is not None

    def begin(self) -> bool:
        """Claim the right to make an offer; False (and a new offer due later) if one is out."""
        if self._busy:
            self._stale = True
            return False
        self._busy = True
        return True

    def needs_offer(self, desired: Offered) -> bool:
        """Whether an offer carrying `desired` would tell the peer anything new."""
        return desired != self.offered

    def abandon(self) -> None:
        """The offer begun was not made (nothing changed, or the node refused)."""
        self._busy = False

    def sent(self, offered: Offered, offer: dict[str, Any]) -> None:
        """The offer went out (or is kept to re-send when the peer's socket is back)."""
        self.offered = offered
        self.pending = offer

    def answered(self) -> bool:
        """The peer answered; True if something changed meanwhile and a new offer is due."""
        self.pending = None
        self._busy = False
        stale, self._stale = self._stale, False
        return stale

    def reset(self) -> None:
        """The subscribe connection was replaced: start over from nothing offered."""
        self.offered = frozenset()
        self.pending = None
        self.generation += 1
        self._busy = False
        self._stale = False
