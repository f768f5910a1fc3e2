"""Alembic environment for the casebook.

Two ways in: `casebook.schema.upgrade(url)` hands over an open connection in
`config.attributes["connection"]` (no alembic CLI at runtime); the alembic CLI (root
`alembic.ini`) gives only a URL (`sqlalchemy.url` or `JUNTA_DATABASE_URL`), and this module opens
an async engine and runs the migrations through `run_sync`.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from casebook.db import DEFAULT_URL, create_engine
from casebook.models import Base

config = context.config
target_metadata = Base.metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_url(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_configure_and_run)
    finally:
        await engine.dispose()


def _url() -> str:
    return (
        config.get_main_option("sqlalchemy.url")
        or os.environ.get("JUNTA_DATABASE_URL")
        or DEFAULT_URL
    )


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    given = config.attributes.get("connection")
    if given is not None:
        _configure_and_run(given)
    else:
        asyncio.run(_run_with_url(_url()))
