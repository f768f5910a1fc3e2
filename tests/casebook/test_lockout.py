"""Account lockout in the database: counted atomically, shared by processes, survives restarts,
keyed by (e-mail, address) and by address; the account alone is only slowed."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from casebook import lockout
from casebook.clock import utcnow
from casebook.db import create_engine, session_factory
from casebook.models import AccountLockout

POLICY = lockout.LockoutPolicy(threshold=20, duration=timedelta(minutes=15))
EMAIL = "especialista.laraza@junta.example"
HERE = "203.0.113.1"
THERE = "198.51.100.7"


async def test_the_twentieth_failure_locks_for_the_policys_duration(
    demo_database_url: str,
) -> None:
    engine = create_engine(demo_database_url)
    now = utcnow()
    try:
        async with session_factory(engine)() as db:
            for _ in range(19):
                assert await lockout.record_failure(db, EMAIL, HERE, POLICY, now=now) is None
            assert await lockout.locked_until(db, EMAIL, HERE, now=now) is None
            started = await lockout.record_failure(db, EMAIL.upper(), HERE, POLICY, now=now)
            until = now + POLICY.duration
            assert started == lockout.Refusal("account_at_address", until)
            await db.commit()
    finally:
        await engine.dispose()
    # A new engine (a restarted process) sees the lock, until it ends.
    engine = create_engine(demo_database_url)
    try:
        async with session_factory(engine)() as db:
            refusal = await lockout.locked_until(db, EMAIL, HERE, now=now)
            assert refusal is not None and refusal.until == until
            # Another address is not locked out of the account (issue 20).
            assert await lockout.locked_until(db, EMAIL, THERE, now=now) is None
            later = now + POLICY.duration + timedelta(seconds=1)
            assert await lockout.locked_until(db, EMAIL, HERE, now=later) is None
            row = await db.get(AccountLockout, (EMAIL, HERE))
            assert row is not None and row.failures == 0  # the count starts over after a lock
    finally:
        await engine.dispose()


async def test_failures_from_two_processes_are_all_counted(demo_database_url: str) -> None:
    engines = [create_engine(demo_database_url) for _ in range(2)]

    async def fail(index: int, times: int) -> None:
        for _ in range(times):
            async with session_factory(engines[index])() as db:
                await lockout.record_failure(db, EMAIL, HERE, POLICY)
                await db.commit()

    try:
        await asyncio.gather(fail(0, 10), fail(1, 9))
        async with session_factory(engines[0])() as db:
            row = await db.get(AccountLockout, (EMAIL, HERE))
            assert row is not None and row.failures == 19
            assert await lockout.locked_until(db, EMAIL, HERE) is None
            assert await lockout.record_failure(db, EMAIL, HERE, POLICY) is not None
            await db.commit()
        async with session_factory(engines[1])() as db:
            assert await lockout.locked_until(db, EMAIL, HERE) is not None
            await lockout.unlock(db, EMAIL)
            await db.commit()
            assert await lockout.locked_until(db, EMAIL, HERE) is None
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_success_starts_the_count_over(demo_database_url: str) -> None:
    engine = create_engine(demo_database_url)
    try:
        async with session_factory(engine)() as db:
            for _ in range(19):
                await lockout.record_failure(db, EMAIL, HERE, POLICY)
            await lockout.record_success(db, EMAIL, HERE)
            assert await lockout.record_failure(db, EMAIL, HERE, POLICY) is None
            row = await db.get(AccountLockout, (EMAIL, HERE), populate_existing=True)
            assert row is not None and row.failures == 1
    finally:
        await engine.dispose()


def test_one_attempt_counts_on_the_pair_the_address_and_the_account() -> None:
    assert lockout.lockout_keys(EMAIL, HERE) == {
        "account_at_address": (EMAIL, HERE),
        "address": (lockout.ANY, HERE),
        "account": (EMAIL, lockout.ANY),
    }


def test_the_account_alone_gets_a_growing_capped_delay_never_a_lock() -> None:
    delays = [lockout.growing_delay(n, after=40, cap=60.0) for n in range(38, 49)]
    assert delays == [None, None, 1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert lockout.growing_delay(10**6, after=40, cap=60.0) == 60


async def test_an_address_spraying_many_accounts_is_locked_out_of_all(
    demo_database_url: str,
) -> None:
    policy = lockout.LockoutPolicy(threshold=20, address_threshold=5)
    engine = create_engine(demo_database_url)
    now = utcnow()
    try:
        async with session_factory(engine)() as db:
            for n in range(4):
                email = f"n{n}@x.example"
                assert await lockout.record_failure(db, email, HERE, policy, now=now) is None
            started = await lockout.record_failure(db, "n4@x.example", HERE, policy, now=now)
            assert started == lockout.Refusal("address", now + policy.duration)
            refusal = await lockout.locked_until(db, EMAIL, HERE, now=now)
            assert refusal is not None and refusal.scope == "address"
            assert await lockout.locked_until(db, EMAIL, THERE, now=now) is None
    finally:
        await engine.dispose()


async def test_failures_from_many_addresses_only_slow_the_account(demo_database_url: str) -> None:
    policy = lockout.LockoutPolicy(threshold=20, account_delay_after=4)
    engine = create_engine(demo_database_url)
    now = utcnow()
    try:
        async with session_factory(engine)() as db:
            for n in range(5):
                address = f"10.0.0.{n}"
                assert await lockout.record_failure(db, EMAIL, address, policy, now=now) is None
            # Five failures, one past `account_delay_after`: the next try waits two seconds.
            refusal = await lockout.locked_until(db, EMAIL, THERE, now=now)
            assert refusal == lockout.Refusal("account", now + timedelta(seconds=2))
            assert await lockout.locked_until(db, EMAIL, THERE, now=refusal.until) is None
            # A failure long after the last starts the account's count over.
            later = now + policy.duration + timedelta(seconds=1)
            await lockout.record_failure(db, EMAIL, THERE, policy, now=later)
            row = await db.get(AccountLockout, (EMAIL, lockout.ANY), populate_existing=True)
            assert row is not None and row.failures == 1
    finally:
        await engine.dispose()
