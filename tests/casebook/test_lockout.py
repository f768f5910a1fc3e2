"""Account lockout in the database: counted atomically, shared by processes, survives restarts."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from casebook import lockout
from casebook.clock import utcnow
from casebook.db import create_engine, session_factory
from casebook.models import AccountLockout

POLICY = lockout.LockoutPolicy(threshold=20, duration=timedelta(minutes=15))
EMAIL = "especialista.laraza@junta.example"


async def test_the_twentieth_failure_locks_for_the_policys_duration(
    demo_database_url: str,
) -> None:
    engine = create_engine(demo_database_url)
    now = utcnow()
    try:
        async with session_factory(engine)() as db:
            for _ in range(19):
                assert await lockout.record_failure(db, EMAIL, POLICY, now=now) is None
            assert await lockout.locked_until(db, EMAIL, now=now) is None
            until = await lockout.record_failure(db, EMAIL.upper(), POLICY, now=now)
            assert until == now + POLICY.duration
            await db.commit()
    finally:
        await engine.dispose()
    # A new engine (a restarted process) sees the lock, until it ends.
    engine = create_engine(demo_database_url)
    try:
        async with session_factory(engine)() as db:
            assert await lockout.locked_until(db, EMAIL, now=now) == until
            later = now + POLICY.duration + timedelta(seconds=1)
            assert await lockout.locked_until(db, EMAIL, now=later) is None
            row = await db.get(AccountLockout, EMAIL)
            assert row is not None and row.failures == 0  # the count starts over after a lock
    finally:
        await engine.dispose()


async def test_failures_from_two_processes_are_all_counted(demo_database_url: str) -> None:
    engines = [create_engine(demo_database_url) for _ in range(2)]

    async def fail(index: int, times: int) -> None:
        for _ in range(times):
            async with session_factory(engines[index])() as db:
                await lockout.record_failure(db, EMAIL, POLICY)
                await db.commit()

    try:
        await asyncio.gather(fail(0, 10), fail(1, 9))
        async with session_factory(engines[0])() as db:
            row = await db.get(AccountLockout, EMAIL)
            assert row is not None and row.failures == 19
            assert await lockout.locked_until(db, EMAIL) is None
            assert await lockout.record_failure(db, EMAIL, POLICY) is not None
            await db.commit()
        async with session_factory(engines[1])() as db:
            assert await lockout.locked_until(db, EMAIL) is not None
            await lockout.unlock(db, EMAIL)
            await db.commit()
            assert await lockout.locked_until(db, EMAIL) is None
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_success_starts_the_count_over(demo_database_url: str) -> None:
    engine = create_engine(demo_database_url)
    try:
        async with session_factory(engine)() as db:
            for _ in range(19):
                await lockout.record_failure(db, EMAIL, POLICY)
            await lockout.record_success(db, EMAIL)
            assert await lockout.record_failure(db, EMAIL, POLICY) is None
            row = await db.get(AccountLockout, EMAIL, populate_existing=True)
            assert row is not None and row.failures == 1
    finally:
        await engine.dispose()
