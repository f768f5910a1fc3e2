"""Sign-in, sessions and invitations against a real database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import accounts
from casebook.clock import utcnow
from casebook.db import create_engine, session_factory
from casebook.demo import COORDINATOR, DEMO_PASSWORD
from casebook.errors import CasebookError
from casebook.models import User
from casebook.passwords import PasswordPolicy, Passwords

CHEAP = Passwords(PasswordPolicy(time_cost=1, memory_kib=1024, parallelism=1))
IDLE = timedelta(minutes=30)
LA_RAZA = "especialista.laraza@junta.example"


@pytest.fixture
async def db(demo_database_url: str) -> AsyncIterator[AsyncSession]:
    engine = create_engine(demo_database_url)
    async with session_factory(engine)() as session:
        yield session
    await engine.dispose()


async def _user(db: AsyncSession, email: str = LA_RAZA) -> User:
    user = await accounts.find_user_by_email(db, email)
    assert user is not None
    return user


async def test_authenticate_accepts_any_case_of_the_email(db: AsyncSession) -> None:
    email = "  Especialista.LaRaza@Junta.Example "
    user = await accounts.authenticate(db, CHEAP, email, DEMO_PASSWORD)
    assert user is not None and user.email == LA_RAZA


async def test_authenticate_refuses_wrong_password_unknown_and_inactive(db: AsyncSession) -> None:
    assert await accounts.authenticate(db, CHEAP, LA_RAZA, "wrong-password") is None
    assert await accounts.authenticate(db, CHEAP, "nadie@junta.example", DEMO_PASSWORD) is None
    user = await _user(db)
    user.active = False
    await db.commit()
    assert await accounts.authenticate(db, CHEAP, LA_RAZA, DEMO_PASSWORD) is None


async def test_hash_is_upgraded_when_the_policy_changes(db: AsyncSession) -> None:
    stronger = Passwords(PasswordPolicy(time_cost=2, memory_kib=2048, parallelism=1))
    user = await accounts.authenticate(db, stronger, LA_RAZA, DEMO_PASSWORD)
    assert user is not None
    await db.commit()
    assert "m=2048,t=2" in user.password_hash
    assert not stronger.needs_rehash(user.password_hash)
    assert await accounts.authenticate(db, CHEAP, LA_RAZA, DEMO_PASSWORD) is not None


async def test_session_lives_until_idle_too_long(db: AsyncSession) -> None:
    user = await _user(db)
    start = utcnow()
    token, row = await accounts.start_session(db, user, ip="10.0.0.1", user_agent="x", now=start)
    await db.commit()
    assert row.id != token and len(row.id) == 64
    found = await accounts.find_session(db, token, idle=IDLE, now=start + timedelta(minutes=29))
    assert found is not None and found.user.email == LA_RAZA
    assert accounts.touch_session(found, start + timedelta(minutes=29))
    await db.commit()
    later = start + timedelta(minutes=58)
    assert await accounts.find_session(db, token, idle=IDLE, now=later) is not None
    much_later = later + timedelta(minutes=31)
    assert await accounts.find_session(db, token, idle=IDLE, now=much_later) is None
    await db.commit()
    # Once expired it stays ended, even if the clock were to say otherwise.
    assert await accounts.find_session(db, token, idle=IDLE, now=later) is None


async def test_the_session_lookup_says_whether_the_user_confirmed_a_second_factor(
    db: AsyncSession,
) -> None:
    # One query for the session, its user and their second factor (the demo coordinator has one).
    for email, enabled in ((LA_RAZA, False), (COORDINATOR, True)):
        token, _ = await accounts.start_session(
            db, await _user(db, email), ip=None, user_agent=None
        )
        await db.commit()
        found = await accounts.find_signed_in(db, token, idle=IDLE)
        assert found is not None and found.session.user.email == email
        assert found.two_factor_enabled is enabled, email
    assert await accounts.find_signed_in(db, "no-such-token", idle=IDLE) is None


async def test_new_session_ends_the_one_it_replaces(db: AsyncSession) -> None:
    user = await _user(db)
    old, _ = await accounts.start_session(db, user, ip=None, user_agent=None)
    new, _ = await accounts.start_session(db, user, ip=None, user_agent=None, replaces=old)
    await db.commit()
    assert await accounts.find_session(db, old, idle=IDLE) is None
    assert await accounts.find_session(db, new, idle=IDLE) is not None
    await accounts.end_session(db, new)
    await db.commit()
    assert await accounts.find_session(db, new, idle=IDLE) is None


async def test_invites_list_only_the_users_rooms(db: AsyncSession) -> None:
    referrer = await _user(db, "referente.hgr20@junta.example")
    invites = await accounts.invites_for_user(db, referrer.id)
    assert [i.room.id for i in invites] == ["interconsulta-lla"]
    assert await accounts.find_invite(db, "junta-tumores-sn", referrer.id) is None
    assert await accounts.find_invite(db, "no-such-room", referrer.id) is None


async def test_create_user_refuses_a_taken_email(db: AsyncSession) -> None:
    center = await accounts.find_center(db, "OncoCREAN Tabasco")
    assert center is not None
    user = await accounts.create_user(
        db, CHEAP, email="Nuevo@Junta.Example", display_name="Dr. Luis Pérez",
        role="specialist", center=center, password="una-clave-larga",
    )
    await db.commit()
    assert user.email == "nuevo@junta.example"
    with pytest.raises(CasebookError) as refused:
        await accounts.create_user(
            db, CHEAP, email="nuevo@junta.example", display_name="Otro",
            role="specialist", center=center, password="una-clave-larga",
        )
    assert refused.value.code == "email_taken"


async def test_find_center_by_clues_name_or_id(db: AsyncSession) -> None:
    by_clues = await accounts.find_center(db, "ynims000013")
    assert by_clues is not None and by_clues.name == "UMAE Mérida"
    by_name = await accounts.find_center(db, "umae mérida")
    assert by_name is not None and by_name.id == by_clues.id
    assert await accounts.find_center(db, str(by_clues.id)) is not None
