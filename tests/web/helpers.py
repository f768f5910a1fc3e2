"""Small helpers for the web tests (reading the audit trail, tweaking sessions in the database)."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from casebook.models import AuditEvent
from web.app.keys import SESSIONS


async def audit_actions(client: TestClient[Any, Any], action: str) -> list[AuditEvent]:
    """The audit events of one action, oldest first."""
    async with client.app[SESSIONS]() as db:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return list((await db.scalars(query)).all())


def cookie(client: TestClient[Any, Any], name: str) -> str | None:
    """The value of a cookie in the client's jar."""
    for morsel in client.session.cookie_jar:
        if morsel.key == name:
            return morsel.value
    return None
