"""Sign-in throttling per (account, address) and per address, a growing delay for the account
alone; and `AddressLimit`, requests of one kind per client address. Pure classes with an
injected clock.

Failures at one address never lock an account for people at other addresses: the account alone
only makes each further try wait a little longer (casebook.lockout.growing_delay, capped).
State lives in process memory: a restart forgets it, and several processes each count their own
failures (good enough against password guessing; a shared Redis counter is the scale-out step).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from casebook.lockout import growing_delay
from signaling.ratelimit import TokenBucket

Key = tuple[str, ...]


def throttle_keys(account: str, address: str) -> tuple[Key, Key, Key]:
    """The keys one attempt counts on: (account, address), the address, the account alone."""
    return ("pair", account, address), ("address", address), ("account", account)


class LoginThrottle:
    """Counts failed sign-ins in a sliding window and says when more attempts must wait."""

    def __init__(
        self,
        *,
        per_account_and_address: int = 5,
        per_address: int = 20,
        window: float = 300.0,
        account_delay_after: int = 10,
        account_delay_cap: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = {"pair": per_account_and_address, "address": per_address}
        self._window = window
        self._account_delay_after = account_delay_after
        self._account_delay_cap = account_delay_cap
        self._clock = clock
        self._failures: dict[Key, deque[float]] = {}

    def retry_after(self, account: str, address: str) -> float | None:
        """Seconds until this account and address may try again, or None when they may now."""
        now = self._clock()
        pair, by_address, by_account = throttle_keys(account, address)
        waits = [
            self._blocked(pair, now),
            self._blocked(by_address, now),
            self._delayed(by_account, now),
        ]
        blocked = [w for w in waits if w is not None]
        return max(blocked) if blocked else None

    def record_failure(self, account: str, address: str) -> None:
        """Count one failed attempt against the pair, the address and the account."""
        now = self._clock()
        for key in throttle_keys(account, address):
            self._failures.setdefault(key, deque()).append(now)
            self._prune(key, now)

    def record_success(self, account: str, address: str) -> None:
        """A successful sign-in clears the account's failures (not the address's)."""
        pair, _by_address, by_account = throttle_keys(account, address)
        self._failures.pop(pair, None)
        self._failures.pop(by_account, None)

    def _blocked(self, key: Key, now: float) -> float | None:
        failures = self._prune(key, now)
        limit = self._limits[key[0]]
        if len(failures) < limit:
            return None
        # Allowed again once enough of the window's failures have aged out.
        oldest_blocking = failures[len(failures) - limit]
        return oldest_blocking + self._window - now

    def _delayed(self, key: Key, now: float) -> float | None:
        failures = self._prune(key, now)
        delay = growing_delay(len(failures), self._account_delay_after, self._account_delay_cap)
        if delay is None:
            return None
        wait = failures[-1] + delay - now
        return wait if wait > 0 else None

    def _prune(self, key: Key, now: float) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        while failures and failures[0] <= now - self._window:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures


class AddressLimit:
    """How often each client address may do one thing: `burst` at once, then one every
    `interval` seconds (a token bucket per address; full buckets are forgotten)."""

    def __init__(
        self,
        *,
        burst: int,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._burst = burst
        self._rate = 1.0 / interval
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._last_prune = clock()

    def allow(self, address: str) -> bool:
        """Count one request from `address`; False when it is over its share."""
        now = self._clock()
        self._prune(now)
        bucket = self._buckets.get(address)
        if bucket is None:
            bucket = self._buckets[address] = TokenBucket(self._rate, self._burst, now)
        return bucket.allow(now)

    def retry_after(self, address: str) -> float:
        """Seconds until `address` may ask again (0 when it may now)."""
        bucket = self._buckets.get(address)
        if bucket is None:
            return 0.0
        missing = 1.0 - bucket.available(self._clock())
        return max(0.0, missing / self._rate)

    def _prune(self, now: float) -> None:
        # A bucket left alone this long is full again: as good as new.
        if now - self._last_prune < self._burst / self._rate:
            return
        self._last_prune = now
        idle = [a for a, b in self._buckets.items() if b.available(now) >= self._burst]
        for address in idle:
            del self._buckets[address]


