"""The coordinators' queue: urgent cases first, then priority, then routine; the longest waiting
first within each; cases past their service target flagged as overdue.

Waiting is counted from the case's *first* submission (`submitted_at`) and does not stop while
information is requested: the child waits either way, and a stopped clock would hide slow
referrals. Time comes in from the caller, timezone-aware UTC only.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


class Urgency(enum.StrEnum):
    """How soon a case needs discussing, set at triage (the referrer's request until then)."""

    URGENT = "urgent"
    PRIORITY = "priority"
    ROUTINE = "routine"


# Position in the queue; the SQL in `queue_sort_key` must list the same numbers.
URGENCY_RANK: dict[Urgency, int] = {Urgency.URGENT: 0, Urgency.PRIORITY: 1, Urgency.ROUTINE: 2}


@dataclass(frozen=True)
class ServiceTargets:
    """How long after submission a case of each urgency should have been dealt with."""

    urgent: timedelta = timedelta(hours=48)
    priority: timedelta = timedelta(days=7)
    routine: timedelta = timedelta(days=14)

    def __post_init__(self) -> None:
        for urgency in Urgency:
            if self.for_urgency(urgency) <= timedelta(0):
                raise ValueError(f"the {urgency.value} service target must be positive")

    def for_urgency(self, urgency: Urgency) -> timedelta:
        """The target for `urgency`."""
        return {
            Urgency.URGENT: self.urgent,
            Urgency.PRIORITY: self.priority,
            Urgency.ROUTINE: self.routine,
        }[urgency]


@dataclass(frozen=True, slots=True)
class QueueItem:
    """A case waiting in the queue, reduced to what ordering needs."""

    case_id: int
    urgency: Urgency
    submitted_at: datetime

    def __post_init__(self) -> None:
        require_utc(self.submitted_at, "submitted_at")


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """A queue item with its place in time: how long it has waited, when it is due, if late."""

    item: QueueItem
    waiting: timedelta
    due_at: datetime
    overdue: bool


def require_utc(value: datetime, name: str) -> None:
    """Raise ValueError unless `value` is timezone-aware with a zero UTC offset."""
    offset = value.utcoffset()
    if offset is None:
        raise ValueError(f"{name} must be timezone-aware UTC, got a naive datetime")
    if offset != timedelta(0):
        raise ValueError(f"{name} must be in UTC, got UTC offset {offset}")


# The SQL equivalent of `queue_sort_key` (a test runs it against SQLite to keep them in step).
QUEUE_ORDER_BY = (
    "ORDER BY CASE urgency WHEN 'urgent' THEN 0 WHEN 'priority' THEN 1 ELSE 2 END,"
    " submitted_at ASC, id ASC"
)


def queue_sort_key(item: QueueItem) -> tuple[int, datetime, int]:
    """The queue's total order as a sort key. The same order in SQL (`QUEUE_ORDER_BY`) is

        ORDER BY CASE urgency WHEN 'urgent' THEN 0 WHEN 'priority' THEN 1 ELSE 2 END,
                 submitted_at ASC, id ASC

    (`id` breaks ties between cases submitted at the same instant, so pages never overlap).
    """
    return (URGENCY_RANK[item.urgency], item.submitted_at, item.case_id)


def order_queue(
    items: Iterable[QueueItem], now: datetime, targets: ServiceTargets | None = None
) -> list[QueueEntry]:
    """The queue in order, each entry with its waiting time, due time and overdue flag.

    A case is overdue once `now` is strictly past `submitted_at + target` for its urgency.
    """
    require_utc(now, "now")
    targets = targets or ServiceTargets()
    limits = {urgency: targets.for_urgency(urgency) for urgency in Urgency}
    entries = []
    for item in sorted(items, key=queue_sort_key):
        due_at = item.submitted_at + limits[item.urgency]
        # A submission slightly in the future is clock skew between hosts, not negative waiting.
        waiting = max(now - item.submitted_at, timedelta(0))
        entries.append(QueueEntry(item, waiting, due_at, overdue=now > due_at))
    return entries
