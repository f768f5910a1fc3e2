"""Sign-in throttling per account and per client address: a pure class with an injected clock.

State lives in process memory: a restart forgets it, and several processes each count their own
failures (good enough against password guessing; a shared Redis counter is the scale-out step).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class LoginThrottle:
    """Counts failed sign-ins in a sliding window and says when more attempts must wait."""

    def __init__(
        self,
        *,
        per_account: int = 5,
        per_address: int = 20,
        window: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = {"account": per_account, "address": per_address}
        self._window = window
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}

    def retry_after(self, account: str, address: str) -> float | None:
        """Seconds until this account and address may try again, or None when they may now."""
        now = self._clock()
        waits = [
            self._wait(("account", account), now),
            self._wait(("address", address), now),
        ]
        blocked = [w for w in waits if w is not None]
        return max(blocked) if blocked else None

    def record_failure(self, account: str, address: str) -> None:
        """Count one failed attempt against both the account and the address."""
        now = self._clock()
        for key in (("account", account), ("address", address)):
            self._failures.setdefault(key, deque()).append(now)
            self._prune(key, now)

    def record_success(self, account: str) -> None:
        """A successful sign-in clears the account's failures (not the address's)."""
        self._failures.pop(("account", account), None)

    def _wait(self, key: tuple[str, str], now: float) -> float | None:
        failures = self._prune(key, now)
        if len(failures) < self._limits[key[0]]:
            return None
        # Allowed again once enough of the window's failures have aged out.
        oldest_blocking = failures[len(failures) - self._limits[key[0]]]
        return oldest_blocking + self._window - now

    def _prune(self, key: tuple[str, str], now: float) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        while failures and failures[0] <= now - self._window:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures
