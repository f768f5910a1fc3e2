"""The network dashboard: activity over a chosen period, by center and state, as figures,
server-drawn SVG charts and tables, and as CSV. Coordinators and admins (aggregates only).
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import select

from casebook import audit
from casebook.ascii_numbers import parse_ascii_int
from casebook.clock import utcnow
from casebook.models import Center, Role
from casebook.stats import Stats, network_stats
from casebook.triage import Urgency
from web.app.keys import SESSIONS, SETTINGS
from web.app.service_targets import service_targets
from web.http.routes import MAX_ID, Route, caller, page_route
from web.pages.forms import render_page
from web.render.case_labels import URGENCY
from web.render.context import gettext
from web.render.local_times import NETWORK_TZ
from web.render.svg_charts import Series, bar_chart, column_chart

STATS_ROLES = frozenset({Role.COORDINATOR, Role.ADMIN})
DEFAULT_DAYS = 90
MAX_DAYS = 5 * 366


class Period:
    """The chosen days (network time), both ends included, and the filters."""

    def __init__(self, query: Any, today: date) -> None:
        self.problems: list[str] = []
        start = today - timedelta(days=DEFAULT_DAYS - 1)
        self.first = self._day(query.get("since"), start, "since")
        self.last = self._day(query.get("until"), today, "until")
        if self.last < self.first or (self.last - self.first).days > MAX_DAYS:
            self.problems.append("until")
            self.first, self.last = today - timedelta(days=DEFAULT_DAYS - 1), today
        raw_center = query.get("center", "")
        self.center_id = parse_ascii_int(raw_center, 1, MAX_ID)
        self.state = (query.get("state") or "").strip()[:100] or None

    def _day(self, raw: str | None, default: date, name: str) -> date:
        if not raw:
            return default
        try:
            return date.fromisoformat(raw)
        except ValueError:
            self.problems.append(name)
            return default

    @property
    def since(self) -> datetime:
        """The first instant of the period."""
        return datetime.combine(self.first, time(0), tzinfo=NETWORK_TZ)

    @property
    def until(self) -> datetime:
        """The first instant after the period."""
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=NETWORK_TZ)

    def query(self) -> dict[str, str]:
        """The period and filters as query parameters (for links)."""
        params = {"since": self.first.isoformat(), "until": self.last.isoformat()}
        if self.center_id is not None:
            params["center"] = str(self.center_id)
        if self.state:
            params["state"] = self.state
        return params


async def _compute(request: web.Request, period: Period, fmt: str) -> tuple[Stats, list[Center]]:
    who = caller(request)
    async with request.app[SESSIONS]() as db:
        stats = await network_stats(
            db,
            since=period.since,
            until=period.until,
            now=utcnow(),
            tz=NETWORK_TZ,
            targets=service_targets(request.app[SETTINGS]),
            center_id=period.center_id,
            state=period.state,
        )
        centers = list((await db.scalars(select(Center).order_by(Center.name))).all())
        await audit.record(
            db, "stats.viewed", actor_user_id=who.user_id, ip=who.ip,
            detail={**period.query(), "format": fmt},
        )
        await db.commit()
    return stats, centers


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


async def stats_page(request: web.Request) -> web.StreamResponse:
    """The dashboard."""
    period = Period(request.query, utcnow().astimezone(NETWORK_TZ).date())
    stats, centers = await _compute(request, period, "html")
    _ = lambda message: gettext(request, message)  # noqa: E731 - a local alias reads best
    urgency_names = {u: _(URGENCY[u.value]) for u in Urgency}
    states = stats.by_state()
    charts = {
        "months": column_chart(
            "chart-months",
            _("Cases submitted and recommendations issued per month"),
            [m.month for m in stats.by_month],
            [
                Series(_("Cases submitted"), [m.submitted for m in stats.by_month], "bar"),
                Series(_("Recommendations issued"), [m.recommendations for m in stats.by_month],
                       "bar-alt"),
            ],
        ),
        "urgency": column_chart(
            "chart-urgency",
            _("Cases submitted by urgency"),
            [urgency_names[u] for u in Urgency],
            [Series(_("Cases submitted"), [stats.by_urgency[u] for u in Urgency], "bar")],
        ),
        "states": bar_chart(
            "chart-states",
            _("Cases submitted by state"),
            [(s.name, s.submitted) for s in states],
        ),
    }
    return await render_page(
        request,
        "stats.html",
        {
            "stats": stats,
            "states": states,
            "charts": charts,
            "period": period,
            "problems": period.problems,
            "centers": [{"id": c.id, "name": c.name} for c in centers],
            "state_names": sorted({c.state for c in centers}),
            "days": _days,
            "csv_link": "/stats.csv?" + urlencode(period.query()),
            "urgency_rows": [(urgency_names[u], stats.by_urgency[u]) for u in Urgency],
        },
        status=400 if period.problems else 200,
    )


CSV_COLUMNS = [
    "center", "state", "cases_submitted", "cases_examined", "recommendations_issued",
    "median_days_to_recommendation", "queue_now", "overdue_now",
]


def stats_csv_text(stats: Stats) -> str:
    """The per-center table as CSV (one row per center, then the network's total)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        ["period_start", stats.since.isoformat(), "period_end", stats.until.isoformat()]
    )
    writer.writerow(
        ["sessions_held", stats.sessions_held, "training_sessions", stats.training_sessions]
    )
    writer.writerow(CSV_COLUMNS)
    for row in stats.centers:
        writer.writerow([
            row.name, row.state, row.submitted, row.examined, row.recommendations,
            _days(row.median_days) if row.median_days is not None else "", row.queue, row.overdue,
        ])
    writer.writerow([
        "TOTAL", "", stats.cases_submitted, stats.cases_examined, stats.recommendations,
        _days(stats.median_days) if stats.median_days is not None else "",
        stats.queue_length, stats.overdue,
    ])
    return out.getvalue()


async def stats_csv(request: web.Request) -> web.StreamResponse:
    """The dashboard's figures as CSV."""
    period = Period(request.query, utcnow().astimezone(NETWORK_TZ).date())
    if period.problems:
        raise web.HTTPBadRequest(reason="invalid period")
    stats, _centers = await _compute(request, period, "csv")
    filename = f"junta-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return web.Response(
        text=stats_csv_text(stats),
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def routes() -> list[Route]:
    """The dashboard pages."""
    return [
        page_route("GET", "/stats", stats_page, "page-stats", STATS_ROLES),
        page_route("GET", "/stats.csv", stats_csv, "page-stats-csv", STATS_ROLES),
    ]
