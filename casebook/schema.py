"""Bring a database's schema to the newest migration, programmatically (no alembic CLI needed).

Creating a new revision during development (from the repository root, which holds alembic.ini):
    export JUNTA_DATABASE_URL=sqlite+aiosqlite:///var/dev.db
    .venv/bin/alembic upgrade head
    .venv/bin/alembic revision --autogenerate -m "…"
then review the generated file; `tests/casebook/test_schema.py` checks migrations equal the models.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection

from casebook.db import create_engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration pointing at the casebook's migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# Several `junta serve` processes may start at once against one PostgreSQL database: the first
# to take this transaction-scoped lock migrates, the others then find nothing left to do.
_MIGRATION_LOCK = 0x4A554E5441  # "JUNTA"


def _upgrade(connection: Connection, config: Config, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(url: str, revision: str = "head", *, secret_key: bytes | None = None) -> None:
    """Apply every pending migration to the database at `url`.

    `secret_key` (the app's `JUNTA_SECRET_KEY`) is handed to migrations that seal stored
    secrets (0010); without it they fall back to the environment's JUNTA_SECRET_KEY.
    """
    config = alembic_config(url)
    if secret_key:
        config.attributes["secret_key"] = secret_key
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, config, revision)
    finally:
        await engine.dispose()
