"""Migration 0010 seals the TOTP secrets stored in clear (issue 20), with the key the app hands
to `casebook.schema.upgrade`; sign-in with a code works the same afterwards."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection

from casebook import accounts, demo, totp, two_factor
from casebook.clock import utcnow
from casebook.db import create_engine, session_factory
from casebook.passwords import PasswordPolicy, Passwords
from casebook.schema import alembic_config, upgrade
from casebook.secret_box import SecretBox, is_sealed
from tests.live import TEST_SECRET

CHEAP = Passwords(PasswordPolicy(time_cost=1, memory_kib=1024, parallelism=1))
BOX = SecretBox(TEST_SECRET)


async def _downgrade(url: str, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        config.attributes["secret_key"] = TEST_SECRET
        command.downgrade(config, revision)

    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run)
    finally:
        await engine.dispose()


async def _stored_secrets(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(text("SELECT secret FROM two_factor"))).scalars())
    finally:
        await engine.dispose()


async def test_plaintext_secrets_are_sealed_and_still_let_their_owner_in(
    database_url: str,
) -> None:
    await upgrade(database_url, secret_key=TEST_SECRET)
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as db:
            await demo.load_demo(db, CHEAP, BOX)
            await db.commit()
    finally:
        await engine.dispose()
    # A database of before the change: back at 0009, where secrets were kept in clear.
    await _downgrade(database_url, "0009")
    stored = await _stored_secrets(database_url)
    assert stored and set(stored) == {demo.DEMO_TOTP_SECRET}

    await upgrade(database_url, secret_key=TEST_SECRET)
    stored = await _stored_secrets(database_url)
    assert stored and all(is_sealed(s) and demo.DEMO_TOTP_SECRET not in s for s in stored)
    assert {BOX.open(s) for s in stored} == {demo.DEMO_TOTP_SECRET}

    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as db:
            user = await accounts.find_user_by_email(db, demo.COORDINATOR)
            assert user is not None
            now = utcnow()
            code = totp.code_at(demo.DEMO_TOTP_SECRET, now.timestamp())
            check = await two_factor.check_code(db, user.id, code, BOX, now=now)
            assert check.outcome == "totp"
    finally:
        await engine.dispose()


async def test_sealing_without_the_key_is_refused(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await upgrade(database_url, secret_key=TEST_SECRET)
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as db:
            await demo.load_demo(db, CHEAP, BOX)
            await db.commit()
    finally:
        await engine.dispose()
    await _downgrade(database_url, "0009")
    monkeypatch.delenv("JUNTA_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="needs the server key"):
        await upgrade(database_url)
    assert set(await _stored_secrets(database_url)) == {demo.DEMO_TOTP_SECRET}
