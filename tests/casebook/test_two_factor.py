"""The second factor's rules in the database: replay refused atomically, wrong codes counted per
user across processes, a growing refusal after five, and one pending sign-in per user."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from casebook import accounts, demo, totp, two_factor
from casebook.clock import utcnow
from casebook.db import create_engine, session_factory
from casebook.models import User
from tests.live import test_box

BOX = test_box()


def test_the_refusal_starts_at_fifteen_minutes_and_doubles_up_to_a_day() -> None:
    delays = [two_factor.refusal_delay(n) for n in range(9)]
    assert delays[:4] == [timedelta(minutes=m) for m in (15, 30, 60, 120)]
    assert delays[-1] == timedelta(hours=24)
    assert delays == sorted(delays)


async def _coordinator(db: object) -> User:
    user = await accounts.find_user_by_email(db, demo.COORDINATOR)  # type: ignore[arg-type]
    assert user is not None
    return user


async def test_two_simultaneous_uses_of_one_code_let_exactly_one_in(
    demo_database_url: str,
) -> None:
    engines = [create_engine(demo_database_url) for _ in range(2)]
    now = utcnow()
    code = totp.code_at(demo.DEMO_TOTP_SECRET, now.timestamp())

    async def use(index: int) -> str:
        async with session_factory(engines[index])() as db:
            user = await _coordinator(db)
            check = await two_factor.check_code(db, user.id, code, BOX, now=now)
            await db.commit()
            return check.outcome

    try:
        outcomes = sorted(await asyncio.gather(use(0), use(1)))
        assert outcomes == ["reused", "totp"]
    finally:
        for engine in engines:
            await engine.dispose()


async def test_wrong_codes_from_two_processes_add_up_to_one_refusal(
    demo_database_url: str,
) -> None:
    engines = [create_engine(demo_database_url) for _ in range(2)]
    now = utcnow()

    async def wrong(index: int, times: int) -> list[two_factor.CodeCheck]:
        checks = []
        for _ in range(times):
            async with session_factory(engines[index])() as db:
                user = await _coordinator(db)
                checks.append(await two_factor.check_code(db, user.id, "000000", BOX, now=now))
                await db.commit()
        return checks

    try:
        first, second = await asyncio.gather(wrong(0, 3), wrong(1, 2))
        checks = first + second
        assert [c.outcome for c in checks].count("wrong") == 5
        [locking] = [c for c in checks if c.refused_until is not None]
        assert locking.refused_until == now + timedelta(minutes=15)
        async with session_factory(engines[0])() as db:
            user = await _coordinator(db)
            right = totp.code_at(demo.DEMO_TOTP_SECRET, now.timestamp())
            refused = await two_factor.check_code(db, user.id, right, BOX, now=now)
            assert refused.outcome == "refused"
            assert refused.refused_until == now + timedelta(minutes=15)
            # An administrator may lift it (web.pages.admin's unlock).
            await two_factor.lift_refusal(db, user.id)
            assert (await two_factor.check_code(db, user.id, right, BOX, now=now)).outcome == "totp"
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_new_pending_sign_in_ends_the_users_other_ones(demo_database_url: str) -> None:
    engine = create_engine(demo_database_url)
    try:
        async with session_factory(engine)() as db:
            user = await _coordinator(db)
            old = await two_factor.start_pending(db, user, "/dashboard")
            await db.flush()
            new = await two_factor.start_pending(db, user, "/dashboard")
            await db.commit()
            assert await two_factor.find_pending(db, old) is None
            assert await two_factor.find_pending(db, new) is not None
    finally:
        await engine.dispose()
