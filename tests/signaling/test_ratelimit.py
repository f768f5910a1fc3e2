"""The token bucket behind the per-socket event and chat limits, stepped by hand."""

from __future__ import annotations

import pytest

from signaling.ratelimit import TokenBucket


def test_burst_up_to_capacity_then_refused() -> None:
    bucket = TokenBucket(rate=5, capacity=5, now=100.0)
    assert [bucket.allow(100.0) for _ in range(6)] == [True] * 5 + [False]


def test_refills_at_the_rate() -> None:
    bucket = TokenBucket(rate=5, capacity=5, now=0.0)
    for _ in range(5):
        bucket.allow(0.0)
    assert not bucket.allow(0.1)
    assert bucket.allow(0.2)  # one token back after 1/5 s
    assert not bucket.allow(0.2)


def test_never_holds_more_than_capacity() -> None:
    bucket = TokenBucket(rate=50, capacity=50, now=0.0)
    assert sum(bucket.allow(3600.0) for _ in range(60)) == 50


def test_clock_going_backwards_mints_nothing() -> None:
    bucket = TokenBucket(rate=1, capacity=1, now=10.0)
    assert bucket.allow(10.0)
    assert not bucket.allow(5.0)
    assert not bucket.allow(10.5)
    assert bucket.allow(11.0)


def test_rejects_nonsense_configuration() -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate=0, capacity=1, now=0)
