"""The audit trail only grows."""

from __future__ import annotations

import pytest

from casebook import audit
from casebook.db import create_engine, session_factory
from casebook.errors import CasebookError


async def test_audit_events_are_recorded_and_never_changed(demo_database_url: str) -> None:
    engine = create_engine(demo_database_url)
    try:
        async with session_factory(engine)() as db:
            await audit.record(
                db, "auth.login_failed", ip="10.1.2.3", target_type="account",
                detail={"email": "x@junta.example"},
            )
            await db.commit()
            (event,) = await audit.events(db, action="auth.login_failed")
            assert event.at.tzinfo is not None
            assert (event.ip, event.detail) == ("10.1.2.3", {"email": "x@junta.example"})
            event.detail = {"email": "changed"}
            with pytest.raises(CasebookError):
                await db.flush()
            await db.rollback()
            await db.delete(event)
            with pytest.raises(CasebookError):
                await db.flush()
    finally:
        await engine.dispose()
