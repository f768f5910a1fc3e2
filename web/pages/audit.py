"""The audit trail for admins as a page: filters (who, what, case, date range), newest first,
paged. The same `casebook.audit.search` as `GET /api/audit`; the search itself is audited.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import select

from casebook import audit
from casebook.ascii_numbers import parse_ascii_int
from casebook.case_code import parse_case_code
from casebook.models import User
from web.app.keys import SESSIONS
from web.http.routes import ADMINS, MAX_ID, Route, caller, page_route
from web.pages.forms import render_page
from web.render.local_times import NETWORK_TZ, local_time

PAGE_SIZE = 50
# Action families offered in the filter (any exact action can be typed too).
FAMILIES = ["auth.", "case.", "attachment.", "recommendation.", "session.", "audit."]


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None


def _start_of(day: date) -> datetime:
    """Midnight of `day` in the network's timezone."""
    return datetime.combine(day, time(0), tzinfo=NETWORK_TZ)


async def audit_page(request: web.Request) -> web.StreamResponse:
    """Search the trail."""
    who = caller(request)
    query = request.query
    actor = query.get("actor", "").strip()[:64] or None
    action = query.get("action", "").strip()[:64] or None
    case = query.get("case", "").strip().upper()[:20] or None
    since_day, until_day = _day(query.get("since", "")), _day(query.get("until", ""))
    raw_page = query.get("page", "1")
    parsed_page = parse_ascii_int(raw_page, 1, MAX_ID)
    page = 1 if parsed_page is None else min(parsed_page, 10_000)
    problems = []
    if case is not None:
        try:
            parse_case_code(case)
        except ValueError:
            problems.append("case")
    if query.get("since") and since_day is None:
        problems.append("since")
    if query.get("until") and until_day is None:
        problems.append("until")
    async with request.app[SESSIONS]() as db:
        users = list((await db.scalars(select(User).order_by(User.display_name))).unique().all())
        names = {u.id: u.display_name for u in users}
        events = []
        if not problems:
            events = await audit.search(
                db,
                actor_user_id=actor,
                action=action,
                target_type="case" if case else None,
                target_id=case,
                since=_start_of(since_day) if since_day else None,
                # The chosen end day is included: search up to the next midnight.
                until=_start_of(until_day + timedelta(days=1)) if until_day else None,
                limit=PAGE_SIZE + 1,
                offset=(page - 1) * PAGE_SIZE,
            )
        filters = {
            k: v
            for k, v in {
                "actor": actor, "action": action, "case": case,
                "since": since_day.isoformat() if since_day else None,
                "until": until_day.isoformat() if until_day else None,
            }.items()
            if v
        }
        await audit.record(
            db, "audit.searched", actor_user_id=who.user_id, ip=who.ip,
            detail={**filters, "page": page, "via": "page"},
        )
        await db.commit()
    rows = [
        {
            "at": local_time(e.at),
            "actor": names.get(e.actor_user_id or "", e.actor_user_id or "—"),
            "action": e.action,
            "target": f"{e.target_type}:{e.target_id}" if e.target_id else (e.target_type or ""),
            "ip": e.ip or "",
            "detail": json.dumps(e.detail, ensure_ascii=False, sort_keys=True)[:300],
        }
        for e in events[:PAGE_SIZE]
    ]
    link = urlencode(filters)
    return await render_page(
        request,
        "audit.html",
        {
            "rows": rows,
            "filters": filters,
            "problems": problems,
            "people": [{"id": u.id, "name": u.display_name} for u in users],
            "families": FAMILIES,
            "page": page,
            "has_next": len(events) > PAGE_SIZE,
            "link": link,
        },
        status=400 if problems else 200,
    )


def routes() -> list[Route]:
    """The audit page."""
    return [page_route("GET", "/audit", audit_page, "page-audit", ADMINS)]
