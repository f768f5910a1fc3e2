"""LoginThrottle: failures per (account, address) and per address in a sliding window, and a
growing delay for the account alone (pure, fake clock)."""

from __future__ import annotations

from web.http.ratelimit import LoginThrottle, throttle_keys


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_attempt_counts_on_the_pair_the_address_and_the_account() -> None:
    assert throttle_keys("a@x", "10.0.0.1") == (
        ("pair", "a@x", "10.0.0.1"), ("address", "10.0.0.1"), ("account", "a@x"),
    )


def test_account_is_blocked_at_its_address_after_its_limit_until_failures_age_out() -> None:
    clock = Clock()
    throttle = LoginThrottle(per_account_and_address=3, per_address=100, window=300, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("a@x", "10.0.0.1") is None
        throttle.record_failure("a@x", "10.0.0.1")
        clock.now += 10
    assert throttle.retry_after("a@x", "10.0.0.1") == 1000 + 300 - clock.now
    # Issue 20: the same account from another address is not blocked.
    assert throttle.retry_after("a@x", "10.0.0.2") is None
    assert throttle.retry_after("b@x", "10.0.0.1") is None
    clock.now = 1000 + 300
    assert throttle.retry_after("a@x", "10.0.0.1") is None


def test_address_is_blocked_across_accounts() -> None:
    clock = Clock()
    throttle = LoginThrottle(per_account_and_address=100, per_address=2, window=60, clock=clock)
    throttle.record_failure("a@x", "10.0.0.9")
    throttle.record_failure("b@x", "10.0.0.9")
    assert throttle.retry_after("c@x", "10.0.0.9") == 60
    assert throttle.retry_after("c@x", "10.0.0.8") is None


def test_failures_from_many_addresses_only_slow_the_account_more_and_more() -> None:
    clock = Clock()
    throttle = LoginThrottle(
        per_account_and_address=100, per_address=100, window=300,
        account_delay_after=3, account_delay_cap=5, clock=clock,
    )
    for n in range(3):
        assert throttle.retry_after("a@x", f"10.0.1.{n}") is None
        throttle.record_failure("a@x", f"10.0.1.{n}")
    waits = []
    for n in range(3, 7):
        wait = throttle.retry_after("a@x", "10.0.2.1")
        assert wait is not None
        waits.append(wait)
        clock.now += wait
        assert throttle.retry_after("a@x", "10.0.2.1") is None
        throttle.record_failure("a@x", f"10.0.1.{n}")
    assert waits == [1, 2, 4, 5]  # doubling, capped: never a lock
    assert throttle.retry_after("b@x", "10.0.2.1") is None


def test_success_clears_the_account_but_not_the_address() -> None:
    clock = Clock()
    throttle = LoginThrottle(per_account_and_address=2, per_address=3, window=60, clock=clock)
    throttle.record_failure("a@x", "10.0.0.1")
    throttle.record_success("a@x", "10.0.0.1")
    throttle.record_failure("a@x", "10.0.0.1")
    assert throttle.retry_after("a@x", "10.0.0.1") is None
    throttle.record_failure("z@x", "10.0.0.1")
    assert throttle.retry_after("q@x", "10.0.0.1") is not None


def test_old_entries_are_forgotten() -> None:
    clock = Clock()
    throttle = LoginThrottle(per_account_and_address=1, per_address=1, window=5, clock=clock)
    throttle.record_failure("a@x", "1.1.1.1")
    clock.now += 6
    assert throttle.retry_after("a@x", "1.1.1.1") is None
    assert throttle._failures == {}
