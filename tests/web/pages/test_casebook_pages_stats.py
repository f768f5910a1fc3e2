"""The dashboard's figures (`casebook.stats`) on a known network, and its SVG charts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casebook import demo, review_sessions
from casebook.cases import Caller
from casebook.clock import utcnow
from casebook.models import Case, Recommendation, ReviewSession, RoomKind, User
from casebook.notifications import OutboxNotifier
from casebook.stats import median_days, months_between, network_stats
from casebook.triage import Urgency
from web.render.local_times import NETWORK_TZ
from web.render.svg_charts import Series, bar_chart, column_chart


def test_months_of_a_period_in_network_time() -> None:
    since = datetime(2025, 11, 15, 6, tzinfo=UTC)
    until = datetime(2026, 2, 1, 6, tzinfo=UTC)  # midnight of Feb 1st in Mexico City
    assert months_between(since, until, NETWORK_TZ) == ["2025-11", "2025-12", "2026-01"]
    assert median_days([24.0, 48.0, 240.0]) == 2.0
    assert median_days([]) is None


def test_charts_escape_labels_and_draw_one_bar_per_value() -> None:
    chart = column_chart(
        "c", "Casos <b>", ["2026-01", "<script>"],
        [Series("a", [3, 5]), Series("b", [1, 0], "bar-alt")],
    )
    assert "<script>" not in chart and "&lt;script&gt;" in chart
    assert len(re.findall(r"<rect class=\"bar\"", chart)) == 2 + 1  # bars + legend swatch
    assert len(re.findall(r"<rect class=\"bar-alt\"", chart)) == 2 + 1
    assert 'role="img"' in chart and "style=" not in chart
    bars = bar_chart("s", "Por estado", [("Yucatán", 4), ("Nayarit", 0)])
    assert bars.count("<rect") == 2 and "Yucatán: 4" in bars


async def test_the_figures_of_a_known_network(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = utcnow()
    async with sessions() as db:
        users = {u.email: u for u in (await db.scalars(select(User))).unique().all()}
        coordinator = Caller.of(users[demo.COORDINATOR], "10.0.0.1")
        notifier = OutboxNotifier()
        # Held in the period: a lecture two days ago; a cancelled one does not count.
        for title in ("Sesión académica", "Cancelada"):
            session = await review_sessions.create(
                db, coordinator, kind=RoomKind.LECTURE, title=title,
                starts_at=now - timedelta(days=2), duration_minutes=60,
                chair_user_id=users[demo.LECTURER].id, invitees=[], notifier=notifier,
            )
            if title == "Cancelada":
                await review_sessions.cancel(db, coordinator, session, notifier)
        # The demo's scheduled case: discussed in the board, recommended 48 h after submission.
        board = await db.scalar(
            select(ReviewSession).where(ReviewSession.room_id == demo.BOARD_ROOM)
        )
        case = await db.scalar(select(Case).where(Case.diagnosis == demo.CASES[1][0]))
        assert board is not None and case is not None and case.submitted_at is not None
        case.status, case.discussed_in_session_id = "recommendation_issued", board.id
        db.add(
            Recommendation(
                case_id=case.id, session_id=board.id, chair_user_id=board.chair_user_id,
                diagnostic_criteria="x", suggested_studies="", treatment_suggestions="y",
                issued_at=case.submitted_at + timedelta(hours=48),
            )
        )
        await db.commit()
        stats = await network_stats(
            db, since=now - timedelta(days=30), until=now + timedelta(days=5), now=now,
            tz=NETWORK_TZ,
        )
    assert (stats.sessions_held, stats.training_sessions) == (1, 1)
    assert stats.cases_submitted == 3  # the draft was never submitted
    assert stats.by_urgency == {Urgency.URGENT: 1, Urgency.PRIORITY: 2, Urgency.ROUTINE: 0}
    assert (stats.cases_examined, stats.recommendations, stats.median_days) == (1, 1, 2.0)
    assert (stats.queue_length, stats.overdue) == (2, 1)  # the urgent case: 6 days > 48 h
    [state] = [s for s in stats.by_state() if s.submitted]
    assert (state.name, state.submitted) == ("Baja California", 3)
    assert sum(m.submitted for m in stats.by_month) == 3
