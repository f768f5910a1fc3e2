"""Clinical records cannot be hard-deleted before the retention period (model-layer guard)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from casebook.clock import utcnow
from casebook.db import create_engine, session_factory
from casebook.models import DEFAULT_RETENTION, RETENTION_INFO_KEY, Case, Opinion, RetentionError


async def test_a_recent_case_cannot_be_deleted(demo_database_url: str) -> None:
    engine = create_engine(demo_database_url)
    try:
        async with session_factory(engine)() as db:
            case = await db.scalar(select(Case).limit(1))
            assert case is not None
            case_id = case.id
            await db.delete(case)
            with pytest.raises(RetentionError) as refused:
                await db.flush()
            assert refused.value.code == "retention_period"
            await db.rollback()
            assert await db.get(Case, case_id) is not None
    finally:
        await engine.dispose()


async def test_bulk_deletes_of_clinical_tables_are_refused(demo_database_url: str) -> None:
    engine = create_engine(demo_database_url)
    try:
        async with session_factory(engine)() as db:
            for model in (Case, Opinion):
                with pytest.raises(RetentionError):
                    await db.execute(delete(model))
    finally:
        await engine.dispose()


async def test_a_case_past_the_retention_period_can_be_deleted(demo_database_url: str) -> None:
    engine = create_engine(demo_database_url)
    try:
        async with session_factory(engine)() as db:
            case = await db.scalar(select(Case).where(Case.status == "draft").limit(1))
            assert case is not None
            case.created_at = utcnow() - DEFAULT_RETENTION - timedelta(days=1)
            await db.flush()
            case_id = case.id
            await db.delete(case)
            await db.flush()
            assert await db.get(Case, case_id) is None
            await db.rollback()
    finally:
        await engine.dispose()


async def test_a_longer_configured_period_is_enforced(demo_database_url: str) -> None:
    engine = create_engine(demo_database_url)
    sessions = session_factory(engine)
    sessions.configure(info={RETENTION_INFO_KEY: timedelta(days=3650)})
    try:
        async with sessions() as db:
            case = await db.scalar(select(Case).limit(1))
            assert case is not None
            case.created_at = utcnow() - timedelta(days=6 * 365)
            await db.flush()
            await db.delete(case)
            with pytest.raises(RetentionError):
                await db.flush()
            await db.rollback()
    finally:
        await engine.dispose()
