"""The coordinators' queue in SQL: cases awaiting triage or scheduling, in `triage` order.

The ORDER BY is `triage.QUEUE_ORDER_BY` over the stored `urgency_rank` (which mirrors
`triage.URGENCY_RANK`) so the `ix_cases_queue` index serves it; waiting times and overdue flags
come from `triage.order_queue`, the one definition of both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import audit
from casebook.case_listing import CaseSummary, listing, summary_page
from casebook.cases import Caller
from casebook.models import Case, CaseStatus, Role
from casebook.triage import QueueEntry, QueueItem, ServiceTargets, Urgency, order_queue
from casebook.workflow import WorkflowError

# Waiting for a coordinator: to triage, to hear back from the referrer, or to schedule.
QUEUE_STATUSES: tuple[CaseStatus, ...] = (
    CaseStatus.SUBMITTED,
    CaseStatus.INFORMATION_REQUESTED,
    CaseStatus.ACCEPTED,
)


@dataclass(frozen=True)
class QueueRow:
    """A queued case with its place in time."""

    case: CaseSummary
    entry: QueueEntry


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue."""

    rows: list[QueueRow]
    total: int
    page: int
    page_size: int


# `triage.QUEUE_ORDER_BY`, on the indexed rank column.
QUEUE_ORDER = (Case.urgency_rank, Case.submitted_at, Case.id)


def queue_conditions(statuses: tuple[CaseStatus, ...] = QUEUE_STATUSES) -> list[Any]:
    """The queue's WHERE: waiting statuses, submitted (what the `ix_cases_waiting` index holds)."""
    # Written into the SQL (a closed set): with the statuses as parameters PostgreSQL planned
    # the queue's statement anew on every execution, as `case_listing.written_in` explains.
    waiting: Any = bindparam(
        "queue_statuses", [s.value for s in statuses], expanding=True, literal_execute=True
    )
    return [Case.status.in_(waiting), Case.submitted_at.is_not(None)]


QUEUE_LISTING = listing(queue_conditions(), QUEUE_ORDER)


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
    cases, total = await summary_page(db, QUEUE_LISTING, {}, page=page, page_size=page_size)
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
