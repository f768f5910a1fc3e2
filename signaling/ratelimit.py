"""A token bucket: `rate` events a second on average, bursts up to `capacity`."""

from __future__ import annotations


class TokenBucket:
    """Pure: the caller passes the time, so tests step through it without sleeping."""

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("rate must be positive and capacity at least 1")
        self.rate = rate
        self.capacity = capacity
        self._tokens = capacity
        self._last = now

    def available(self, now: float) -> float:
        """How many tokens there are at `now` (none taken)."""
        # A clock stepping backwards must not mint tokens.
        elapsed = max(0.0, now - self._last)
        self._last = max(self._last, now)
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
        return self._tokens

    def allow(self, now: float) -> bool:
        """Take one token if there is one; False means the event is over the limit."""
        if self.available(now) >= 1:
            self._tokens -= 1
            return True
        return False
