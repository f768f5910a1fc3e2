"""What signaling reports to the composition root (attendance, audit), without importing it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

CallEventKind = Literal["joined", "left", "admitted", "refused", "removed"]


@dataclass(frozen=True)
class CallEvent:
    kind: CallEventKind
    room: str
    user_id: str
    peer_id: str
    at: datetime


OnCallEvent = Callable[[CallEvent], Awaitable[None]]
