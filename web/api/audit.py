"""The audit trail for admins: `GET /api/audit` with filters (a page can build on it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from aiohttp import web
from pydantic import AfterValidator, AwareDatetime, BaseModel, Field

from casebook import audit
from casebook.accounts import find_user_by_email
from casebook.models import normalize_email
from web.app.keys import SESSIONS
from web.http.routes import ADMINS, Route, Text, caller, json_reply, parse_query


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range") from None


When = Annotated[AwareDatetime, AfterValidator(_utc)]


class AuditQuery(BaseModel):
    """Filters of the audit trail; all optional, combined with AND."""

    actor: Annotated[Text, Field(max_length=320)] | None = Field(
        None, description="A user id or e-mail address."
    )
    action: Annotated[Text, Field(max_length=64)] | None = Field(
        None, description="An action (`case.read`), or a family ending in `.` (`case.`)."
    )
    target: Annotated[Text, Field(max_length=100)] | None = Field(
        None, description="`type` or `type:id`, e.g. `case:JC-2026-000001`, `attachment:4`."
    )
    since: When | None = Field(None, description="From this instant (inclusive).")
    until: When | None = Field(None, description="Until this instant (exclusive).")
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(100, ge=1, le=500)


class AuditEventOut(BaseModel):
    """One event of the trail."""

    id: int
    at: datetime
    actor_user_id: str | None
    action: str
    target_type: str | None
    target_id: str | None
    ip: str | None
    detail: dict[str, Any]


class AuditPageOut(BaseModel):
    """A page of events, newest first."""

    events: list[AuditEventOut]
    page: int
    page_size: int


async def audit_trail(request: web.Request) -> web.StreamResponse:
    """Search the audit trail (admins); the search itself is audited."""
    who = caller(request)
    query = parse_query(request, AuditQuery)
    target_type = target_id = None
    if query.target:
        target_type, _, rest = query.target.partition(":")
        target_id = rest or None
    async with request.app[SESSIONS]() as db:
        actor = query.actor
        if actor and "@" in actor:
            user = await find_user_by_email(db, normalize_email(actor))
            actor = user.id if user else "-"
        events = await audit.search(
            db,
            actor_user_id=actor,
            action=query.action,
            target_type=target_type,
            target_id=target_id,
            since=query.since,
            until=query.until,
            limit=query.page_size,
            offset=(query.page - 1) * query.page_size,
        )
        await audit.record(
            db,
            "audit.searched",
            actor_user_id=who.user_id,
            ip=who.ip,
            detail=query.model_dump(mode="json", exclude_none=True),
        )
        await db.commit()
    return json_reply(
        AuditPageOut(
            events=[AuditEventOut.model_validate(e, from_attributes=True) for e in events],
            page=query.page,
            page_size=query.page_size,
        )
    )


def routes() -> list[Route]:
    """The audit API."""
    return [
        Route(
            "GET", "/api/audit", audit_trail, name="api-audit",
            summary="Search the audit trail",
            description=(
                "Who did what to which record, when and from where; newest first. Admins only."
            ),
            roles=ADMINS, query=AuditQuery, response=AuditPageOut, tag="audit",
        )
    ]
