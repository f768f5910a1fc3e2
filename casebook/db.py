"""Database engines and sessions for the casebook: one schema, SQLite or PostgreSQL by URL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

DEFAULT_URL = "sqlite+aiosqlite:///var/junta.db"


def is_sqlite(url: str) -> bool:
    """True when `url` names a SQLite database."""
    return url.startswith("sqlite")


def create_engine(url: str = DEFAULT_URL, **kwargs: Any) -> AsyncEngine:
    """An async engine for `url`; SQLite connections enforce foreign keys, PostgreSQL ones
    plan without JIT compilation and are reused last-in first-out."""
    if url.startswith("postgresql+asyncpg"):
        # PostgreSQL compiles a plan to machine code once its estimated cost passes
        # jit_above_cost, which an unfiltered case list over a large table passes: compiling
        # cost more than it saved. Pages are short OLTP queries; JIT never pays off for them.
        connect_args = kwargs.setdefault("connect_args", {})
        connect_args.setdefault("server_settings", {}).setdefault("jit", "off")
        # The connection returned last goes out first: consecutive requests meet the same warm
        # server process (its caches, its prepared statements), and under light load the rest
        # of the pool stays idle rather than being cycled through.
        kwargs.setdefault("pool_use_lifo", True)
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        # SQLite ignores REFERENCES clauses unless each connection asks for them; WAL lets pages
        # read while the audit trail or a session touch writes.
        @event.listens_for(engine.sync_engine, "connect")
        def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if ":memory:" not in url:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)
