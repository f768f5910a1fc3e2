"""What every casebook table shares: the declarative base, UTC timestamps and named constraints.

Timestamps are timezone-aware UTC everywhere (`UTCDateTime`), enumerations are short strings with
a CHECK constraint (`one_of`: portable between SQLite and PostgreSQL, readable in a SQL console),
and every constraint is named (`NAMING`) so migrations can refer to them.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Dialect, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase

from casebook.clock import as_utc

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every casebook model."""

    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp that always comes back as aware UTC (SQLite returns naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        # asyncpg hands timestamptz back as aware UTC already: nothing to do per value (listings
        # read two times on each of their rows).
        if dialect.driver == "asyncpg":
            return None
        return super().result_processor(dialect, coltype)


def one_of(column: str, values: type[enum.StrEnum], name: str) -> CheckConstraint:
    """A CHECK that `column` holds one of the values of `values`."""
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


def new_id() -> str:
    """A random identifier for rows people never type (users)."""
    return str(uuid.uuid4())
