"""What the `/call` namespace counts as it works, for `/metrics` (plain numbers, no I/O)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class CallCounters:
    """Totals since the process started; Prometheus computes rates from them."""

    relayed: int = 0  # signal messages delivered to another peer
    events: Counter[str] = field(default_factory=Counter)  # client events by name
    errors: Counter[str] = field(default_factory=Counter)  # refusals by error code
    slow_readers: int = 0  # clients cut off because they stopped reading (outgoing_queue)

    def slow_reader(self) -> None:
        """A client was cut off for not reading what it was sent."""
        self.slow_readers += 1
