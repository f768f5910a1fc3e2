"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from casebook.db import create_engine
from casebook.models import Base
from casebook.schema import alembic_config, upgrade


def _diffs(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_create_exactly_the_models_schema(database_url: str) -> None:
    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_diffs) == []
    finally:
        await engine.dispose()


async def test_upgrade_twice_is_harmless(database_url: str) -> None:
    await upgrade(database_url)
    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            versions = set(
                (await connection.execute(text("SELECT version_num FROM alembic_version")))
                .scalars()
                .all()
            )
        assert versions == set(ScriptDirectory.from_config(alembic_config()).get_heads())
    finally:
        await engine.dispose()


async def test_foreign_keys_are_enforced(database_url: str) -> None:
    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            with pytest.raises(IntegrityError):
                await connection.execute(
                    text(
                        "INSERT INTO room_invites (room_id, user_id, moderator) "
                        "VALUES ('no-room', 'no-user', false)"
                    )
                )
    finally:
        await engine.dispose()


async def test_submission_time_agrees_with_the_status(demo_database_url: str) -> None:
    # Only a draft, or a draft withdrawn unsent, lacks a submission time (the case listing
    # relies on it: `access.sees_every_case_in`).
    engine = create_engine(demo_database_url)
    refused = [
        "UPDATE cases SET submitted_at = NULL WHERE status = 'accepted'",
        "UPDATE cases SET submitted_at = updated_at WHERE status = 'draft'",
        "UPDATE cases SET status = 'submitted' WHERE status = 'draft'",
    ]
    try:
        for statement in refused:
            where = statement.split(" WHERE ")[1]
            async with engine.begin() as connection:
                # A statement that matched no row would prove nothing.
                assert await connection.scalar(text(f"SELECT count(*) FROM cases WHERE {where}"))
                with pytest.raises(IntegrityError):
                    await connection.execute(text(statement))
        async with engine.begin() as connection:
            withdrawn = await connection.execute(
                text("UPDATE cases SET status = 'withdrawn' WHERE status = 'draft'")
            )
            assert withdrawn.rowcount > 0
    finally:
        await engine.dispose()
