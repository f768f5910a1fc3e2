"""The demo network loads completely, and loading it again changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from casebook import accounts
from casebook.db import create_engine, session_factory
from casebook.demo import DEMO_PASSWORD, USERS, load_demo
from casebook.models import Center, Room, RoomInvite, User
from casebook.passwords import PasswordPolicy, Passwords
from casebook.schema import upgrade
from tests.live import test_box

CHEAP = Passwords(PasswordPolicy(time_cost=1, memory_kib=1024, parallelism=1))


async def _counts(url: str) -> tuple[int, ...]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as db:
            return tuple(
                [
                    await db.scalar(select(func.count()).select_from(model)) or 0
                    for model in (Center, User, Room, RoomInvite)
                ]
            )
    finally:
        await engine.dispose()


async def _load(url: str) -> tuple[int, int, int, int]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as db:
            summary = await load_demo(db, CHEAP, test_box())
            await db.commit()
            return (summary.centers, summary.users, summary.rooms, summary.invites)
    finally:
        await engine.dispose()


async def test_demo_loader_is_idempotent(database_url: str) -> None:
    await upgrade(database_url)
    assert await _load(database_url) == (8, 7, 3, 12)
    assert await _load(database_url) == (0, 0, 0, 0)
    assert await _counts(database_url) == (8, 7, 3, 12)


async def test_every_demo_user_signs_in_with_the_demo_password(demo_database_url: str) -> None:
    engine = create_engine(demo_database_url)
    try:
        async with session_factory(engine)() as db:
            for email, name, role, center in USERS:
                user = await accounts.authenticate(db, CHEAP, email, DEMO_PASSWORD)
                assert user is not None, email
                assert (user.display_name, user.role, user.center.name) == (
                    name,
                    role.value,
                    center,
                )
    finally:
        await engine.dispose()


async def test_board_room_requires_admission_and_has_the_coordinator_as_moderator(
    demo_database_url: str,
) -> None:
    engine = create_engine(demo_database_url)
    try:
        async with session_factory(engine)() as db:
            room = await db.get(Room, "junta-tumores-sn")
            assert room is not None and room.requires_admission and room.kind == "board"
            coordinator = await accounts.find_user_by_email(db, "coordinacion@junta.example")
            assert coordinator is not None
            invite = await accounts.find_invite(db, "junta-tumores-sn", coordinator.id)
            assert invite is not None and invite.moderator
    finally:
        await engine.dispose()
