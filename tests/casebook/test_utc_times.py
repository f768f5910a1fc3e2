"""Stored times come back as aware UTC on every backend, through the ORM and plain rows alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select

from casebook.db import create_engine, session_factory
from casebook.models import AuditEvent


async def test_times_come_back_as_aware_utc_whatever_zone_they_went_in(
    demo_database_url: str,
) -> None:
    engine = create_engine(demo_database_url)
    mexico = timezone(timedelta(hours=-6))
    written = datetime(2026, 12, 7, 6, 30, tzinfo=mexico)
    try:
        async with session_factory(engine)() as db:
            db.add(AuditEvent(at=written, action="test.time"))
            await db.commit()
        async with session_factory(engine)() as db:
            mine = AuditEvent.action == "test.time"
            event = await db.scalar(select(AuditEvent).where(mine))
            (row,) = (await db.execute(select(AuditEvent.at).where(mine))).all()
        assert event is not None
        for value in (event.at, row.at):
            assert value == written
            assert value.utcoffset() == timedelta(0) and value.tzinfo in (UTC, UTC)
            assert value.hour == 12
    finally:
        await engine.dispose()
