"""The network's activity over a period, for the dashboard: sessions held, cases examined,
training sessions, the queue now and how much of it is overdue, time from submission to
recommendation, by center, state, urgency and month. Aggregates only: no clinical content.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from casebook.models import Case, Center, Recommendation, ReviewSession, RoomKind, User
from casebook.queue import QUEUE_STATUSES
from casebook.review_sessions import not_cancelled
from casebook.triage import ServiceTargets, Urgency


@dataclass
class CenterRow:
    """One center's figures over the period (queue and overdue: now)."""

    center_id: int
    name: str
    state: str
    submitted: int = 0
    examined: int = 0
    recommendations: int = 0
    queue: int = 0
    overdue: int = 0
    hours_to_recommendation: list[float] = field(default_factory=list)

    @property
    def median_days(self) -> float | None:
        """Median days from submission to recommendation, for the recommendations issued."""
        return median_days(self.hours_to_recommendation)


@dataclass(frozen=True)
class MonthRow:
    """Cases submitted and recommendations issued in one calendar month (network time)."""

    month: str  # YYYY-MM
    submitted: int
    recommendations: int


@dataclass(frozen=True)
class Stats:
    """The dashboard's figures."""

    since: datetime
    until: datetime
    sessions_held: int
    training_sessions: int
    centers: list[CenterRow]
    by_urgency: dict[Urgency, int]
    by_month: list[MonthRow]

    @property
    def cases_submitted(self) -> int:
        """Cases submitted in the period."""
        return sum(c.submitted for c in self.centers)

    @property
    def cases_examined(self) -> int:
        """Cases discussed by a session held in the period."""
        return sum(c.examined for c in self.centers)

    @property
    def recommendations(self) -> int:
        """Recommendations issued in the period."""
        return sum(c.recommendations for c in self.centers)

    @property
    def queue_length(self) -> int:
        """Cases waiting for a coordinator now."""
        return sum(c.queue for c in self.centers)

    @property
    def overdue(self) -> int:
        """Waiting cases past their service target now."""
        return sum(c.overdue for c in self.centers)

    @property
    def median_days(self) -> float | None:
        """Median days from submission to recommendation over the period."""
        return median_days(h for c in self.centers for h in c.hours_to_recommendation)

    def by_state(self) -> list[CenterRow]:
        """The centers' figures added up per state, by state name."""
        states: dict[str, CenterRow] = {}
        for row in self.centers:
            total = states.setdefault(row.state, CenterRow(0, row.state, row.state))
            total.submitted += row.submitted
            total.examined += row.examined
            total.recommendations += row.recommendations
            total.queue += row.queue
            total.overdue += row.overdue
            total.hours_to_recommendation.extend(row.hours_to_recommendation)
        return [states[name] for name in sorted(states)]


def median_days(hours: Iterable[float]) -> float | None:
    """The median of `hours`, in days (one decimal); None when there are none."""
    values = list(hours)
    return round(statistics.median(values) / 24, 1) if values else None


def months_between(since: datetime, until: datetime, tz: tzinfo) -> list[str]:
    """Every calendar month (YYYY-MM, in `tz`) the half-open period touches."""
    start, end = since.astimezone(tz), until.astimezone(tz)
    year, month = start.year, start.month
    months: list[str] = []
    while (year, month) <= (end.year, end.month) and len(months) < 240:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    if len(months) > 1 and end == end.replace(day=1, hour=0, minute=0, second=0, microsecond=0):
        months.pop()  # `until` is the first instant of a month the period does not include
    return months


async def network_stats(
    db: AsyncSession,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    tz: tzinfo,
    targets: ServiceTargets | None = None,
    center_id: int | None = None,
    state: str | None = None,
) -> Stats:
    """The figures for [since, until), optionally for one center or one state's centers."""
    targets = targets or ServiceTargets()
    center_query = select(Center).order_by(Center.name)
    if center_id is not None:
        center_query = center_query.where(Center.id == center_id)
    if state is not None:
        center_query = center_query.where(Center.state == state)
    rows = {
        c.id: CenterRow(c.id, c.name, c.state) for c in (await db.scalars(center_query)).all()
    }
    ids = list(rows)
    in_centers = Case.referring_center_id.in_(ids)
    months = {m: [0, 0] for m in months_between(since, until, tz)}
    by_urgency = dict.fromkeys(Urgency, 0)

    submitted = await db.execute(
        select(Case.referring_center_id, Case.urgency, Case.submitted_at).where(
            in_centers, Case.submitted_at >= since, Case.submitted_at < until
        )
    )
    for center, urgency, at in submitted:
        rows[center].submitted += 1
        by_urgency[Urgency(urgency)] += 1
        _bump(months, at, tz, 0)

    examined = await db.execute(
        select(Case.referring_center_id, func.count())
        .join(ReviewSession, ReviewSession.id == Case.discussed_in_session_id)
        .where(in_centers, ReviewSession.starts_at >= since, ReviewSession.starts_at < until)
        .group_by(Case.referring_center_id)
    )
    for center, count in examined:
        rows[center].examined = count

    issued = await db.execute(
        select(Case.referring_center_id, Case.submitted_at, Recommendation.issued_at)
        .join(Recommendation, Recommendation.case_id == Case.id)
        .where(in_centers, Recommendation.issued_at >= since, Recommendation.issued_at < until)
    )
    for center, submitted_at, issued_at in issued:
        rows[center].recommendations += 1
        if submitted_at is not None:
            hours = (issued_at - submitted_at).total_seconds() / 3600
            rows[center].hours_to_recommendation.append(max(hours, 0.0))
        _bump(months, issued_at, tz, 1)

    waiting = [s.value for s in QUEUE_STATUSES]
    queued = await db.execute(
        select(Case.referring_center_id, func.count())
        .where(in_centers, Case.status.in_(waiting), Case.submitted_at.is_not(None))
        .group_by(Case.referring_center_id)
    )
    for center, count in queued:
        rows[center].queue = count
    for urgency in Urgency:
        late = await db.execute(
            select(Case.referring_center_id, func.count())
            .where(
                in_centers,
                Case.status.in_(waiting),
                Case.urgency == urgency.value,
                Case.submitted_at < now - targets.for_urgency(urgency),
            )
            .group_by(Case.referring_center_id)
        )
        for center, count in late:
            rows[center].overdue += count

    sessions = (
        select(ReviewSession.kind, func.count())
        .where(
            ReviewSession.starts_at >= since,
            ReviewSession.starts_at < until,
            ReviewSession.starts_at <= now,
            not_cancelled(),
        )
        .group_by(ReviewSession.kind)
    )
    if center_id is not None or state is not None:
        # A session belongs to the center of its chair.
        sessions = sessions.join(User, User.id == ReviewSession.chair_user_id).where(
            User.center_id.in_(ids)
        )
    held = {kind: count for kind, count in await db.execute(sessions)}
    return Stats(
        since=since,
        until=until,
        sessions_held=sum(held.values()),
        training_sessions=held.get(RoomKind.LECTURE.value, 0),
        centers=list(rows.values()),
        by_urgency=by_urgency,
        by_month=[MonthRow(m, s, r) for m, (s, r) in months.items()],
    )


def _bump(months: dict[str, list[int]], at: datetime | None, tz: tzinfo, index: int) -> None:
    if at is None:
        return
    key = f"{at.astimezone(tz):%Y-%m}"
    if key in months:
        months[key][index] += 1
