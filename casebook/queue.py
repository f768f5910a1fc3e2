"""The coordinators' queue in SQL: cases awaiting triage or scheduling, in `triage` order.

The ORDER BY is `triage.QUEUE_ORDER_BY` over the stored `urgency_rank` (which mirrors
`triage.URGENCY_RANK`) so the `ix_cases_queue` index serves it; waiting times and overdue flags
come from `triage.order_queue`, the one definition of both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import audit
from casebook.case_models import Case
from casebook.cases import Caller
from casebook.models import Role
from casebook.triage import QueueEntry, QueueItem, ServiceTargets, Urgency, order_queue
from casebook.workflow import CaseStatus, WorkflowError

# Waiting for a coordinator: to triage, to hear back from the referrer, or to schedule.
QUEUE_STATUSES: tuple[CaseStatus, ...] = (
    CaseStatus.SUBMITTED,
    CaseStatus.INFORMATION_REQUESTED,
    CaseStatus.ACCEPTED,
)


@dataclass(frozen=True)
class QueueRow:
    """A queued case with its place in time."""

    case: Case
    entry: QueueEntry


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue."""

    rows: list[QueueRow]
    total: int
    page: int
    page_size: int


def queue_query(statuses: tuple[CaseStatus, ...] = QUEUE_STATUSES) -> Select[Case]:
    """The queue's SELECT: `triage.QUEUE_ORDER_BY`, on the indexed rank column."""
    return (
        select(Case)
        .where(Case.status.in_([s.value for s in statuses]), Case.submitted_at.is_not(None))
        .order_by(Case.urgency_rank, Case.submitted_at, Case.id)
    )


async def coordinator_queue(
    db: AsyncSession,
    caller: Caller,
    now: datetime,
    *,
    targets: ServiceTargets | None = None,
    page: int = 1,
    page_size: int = 50,
) -> QueuePage:
    """One page of the queue for a coordinator, audited as a read of the listed cases."""
    if caller.role is not Role.COORDINATOR:
        raise WorkflowError("not_allowed", "Only coordinators work the queue.")
    base = queue_query()
    # Counting needs no order (PostgreSQL would sort every waiting case just to count them).
    total = await db.scalar(select(func.count()).select_from(base.order_by(None).subquery())) or 0
    cases = list((await db.scalars(base.limit(page_size).offset((page - 1) * page_size))).all())
    # submitted_at is never NULL here (the query filters on it).
    items = {c.id: QueueItem(c.id, Urgency(c.urgency), c.submitted_at or now) for c in cases}
    by_id = {c.id: c for c in cases}
    # order_queue sorts by the same key as the SQL, so the page keeps its order.
    rows = [QueueRow(by_id[e.item.case_id], e) for e in order_queue(items.values(), now, targets)]
    await audit.record(
        db,
        "case.queue",
        actor_user_id=caller.user_id,
        target_type="case",
        ip=caller.ip,
        detail={"codes": [r.case.code for r in rows], "page": page},
    )
    return QueuePage(rows, total, page, page_size)
