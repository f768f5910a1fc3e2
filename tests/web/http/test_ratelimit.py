"""LoginThrottle: failures per account and per address in a sliding window (pure, fake clock)."""

from __future__ import annotations

from web.http.ratelimit import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_account_is_blocked_after_its_limit_until_failures_age_out() -> None:
    clock = Clock()
    throttle = LoginThrottle(per_account=3, per_address=100, window=300, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("a@x", "10.0.0.1") is None
        throttle.record_failure("a@x", "10.0.0.1")
        clock.now += 10
    assert throttle.retry_after("a@x", "10.0.0.2") == 1000 + 300 - clock.now
    assert throttle.retry_after("b@x", "10.0.0.1") is None
    clock.now = 1000 + 300
    assert throttle.retry_after("a@x", "10.0.0.1") is None


def test_address_is_blocked_across_accounts() -> None:
    clock = Clock()
    throttle = LoginThrottle(per_account=100, per_address=2, window=60, clock=clock)
    throttle.record_failure("a@x", "10.0.0.9")
    throttle.record_failure("b@x", "10.0.0.9")
    assert throttle.retry_after("c@x", "10.0.0.9") == 60
    assert throttle.retry_after("c@x", "10.0.0.8") is None


def test_success_clears_the_account_but_not_the_address() -> None:
    clock = Clock()
    throttle = LoginThrottle(per_account=2, per_address=2, window=60, clock=clock)
    throttle.record_failure("a@x", "10.0.0.1")
    throttle.record_success("a@x")
    throttle.record_failure("a@x", "10.0.0.2")
    assert throttle.retry_after("a@x", "10.0.0.3") is None
    throttle.record_failure("z@x", "10.0.0.1")
    assert throttle.retry_after("q@x", "10.0.0.1") is not None


def test_old_entries_are_forgotten() -> None:
    clock = Clock()
    throttle = LoginThrottle(per_account=1, per_address=1, window=5, clock=clock)
    throttle.record_failure("a@x", "1.1.1.1")
    clock.now += 6
    assert throttle.retry_after("a@x", "1.1.1.1") is None
    assert throttle._failures == {}
