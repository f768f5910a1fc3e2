"""The queue: urgent, then priority, then routine; oldest first within each; late ones flagged."""

from __future__ import annotations

import itertools
import random
import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casebook import triage
from casebook.triage import (
    QUEUE_ORDER_BY,
    QueueItem,
    ServiceTargets,
    Urgency,
    order_queue,
    queue_sort_key,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
U, P, R = Urgency.URGENT, Urgency.PRIORITY, Urgency.ROUTINE


def item(case_id: int, urgency: Urgency, waited: timedelta) -> QueueItem:
    return QueueItem(case_id, urgency, NOW - waited)


def ids(items: list[QueueItem], now: datetime = NOW) -> list[int]:
    return [entry.item.case_id for entry in order_queue(items, now)]


def test_a_fresh_urgent_case_goes_before_an_old_routine_one() -> None:
    queue = [
        item(1, R, timedelta(days=30)),
        item(2, P, timedelta(days=10)),
        item(3, U, timedelta(minutes=5)),
    ]
    assert ids(queue) == [3, 2, 1]


def test_the_longest_waiting_goes_first_within_an_urgency() -> None:
    queue = [item(1, P, timedelta(days=1)), item(2, P, timedelta(days=3)), item(3, P, timedelta(0))]
    assert ids(queue) == [2, 1, 3]


def test_cases_submitted_at_the_same_instant_are_ordered_by_id() -> None:
    queue = [item(9, R, timedelta(hours=1)), item(4, R, timedelta(hours=1))]
    assert ids(queue) == [4, 9]


def test_an_entry_states_how_long_it_waited_and_when_it_is_due() -> None:
    (entry,) = order_queue([item(1, U, timedelta(hours=50))], NOW)
    assert entry.waiting == timedelta(hours=50)
    assert entry.due_at == NOW - timedelta(hours=2)
    assert entry.overdue


@pytest.mark.parametrize(
    ("urgency", "target"),
    [(U, timedelta(hours=48)), (P, timedelta(days=7)), (R, timedelta(days=14))],
)
def test_default_service_targets(urgency: Urgency, target: timedelta) -> None:
    on_time, just_late = item(1, urgency, target), item(2, urgency, target + timedelta(seconds=1))
    flags = {e.item.case_id: e.overdue for e in order_queue([on_time, just_late], NOW)}
    # Exactly at the target is still on time; one second past it is overdue.
    assert flags == {1: False, 2: True}


def test_overdue_does_not_change_the_order() -> None:
    # A routine case two weeks late still waits behind a fresh priority case: urgency rules.
    entries = order_queue([item(1, R, timedelta(days=28)), item(2, P, timedelta(0))], NOW)
    assert [(e.item.case_id, e.overdue) for e in entries] == [(2, False), (1, True)]


def test_service_targets_are_configurable() -> None:
    targets = ServiceTargets(urgent=timedelta(hours=24))
    (entry,) = order_queue([item(1, U, timedelta(hours=30))], NOW, targets)
    assert entry.overdue and entry.due_at == NOW - timedelta(hours=6)
    assert targets.priority == timedelta(days=7)


@pytest.mark.parametrize("bad", [timedelta(0), timedelta(hours=-1)])
def test_service_targets_must_be_positive(bad: timedelta) -> None:
    with pytest.raises(ValueError, match="routine service target must be positive"):
        ServiceTargets(routine=bad)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware UTC"):
        order_queue([], datetime(2026, 11, 23, 12, 0))


def test_naive_submission_time_is_refused() -> None:
    with pytest.raises(ValueError, match="submitted_at must be timezone-aware UTC"):
        QueueItem(1, U, datetime(2026, 11, 23, 12, 0))


def test_times_in_another_zone_are_refused() -> None:
    mexico_city = timezone(timedelta(hours=-6))
    with pytest.raises(ValueError, match="must be in UTC"):
        QueueItem(1, U, datetime(2026, 11, 23, 6, 0, tzinfo=mexico_city))
    with pytest.raises(ValueError, match="must be in UTC"):
        order_queue([], NOW.astimezone(mexico_city))


def test_a_submission_in_the_future_has_waited_nothing() -> None:
    # Clock skew between hosts: not an error, and certainly not negative waiting.
    (entry,) = order_queue([QueueItem(1, R, NOW + timedelta(seconds=3))], NOW)
    assert entry.waiting == timedelta(0) and not entry.overdue


def test_an_empty_queue_is_empty() -> None:
    assert order_queue([], NOW) == []


def test_urgency_values_are_the_ones_the_sql_names() -> None:
    assert [u.value for u in sorted(Urgency, key=triage.URGENCY_RANK.__getitem__)] == [
        "urgent", "priority", "routine",
    ]


queue_items = st.builds(
    QueueItem,
    st.integers(min_value=1, max_value=10_000),
    st.sampled_from(list(Urgency)),
    # Whole seconds within a month, so collisions (ties) actually happen.
    st.integers(min_value=-3 * 24 * 3600, max_value=30 * 24 * 3600).map(
        lambda s: NOW - timedelta(seconds=s)
    ),
)
unique_queues = st.lists(queue_items, max_size=40, unique_by=lambda i: i.case_id)


def comes_before(a: QueueItem, b: QueueItem) -> bool:
    """The rule as the issue words it, independently of `queue_sort_key`."""
    rank = {"urgent": 0, "priority": 1, "routine": 2}
    if rank[a.urgency] != rank[b.urgency]:
        return rank[a.urgency] < rank[b.urgency]
    if a.submitted_at != b.submitted_at:
        return a.submitted_at < b.submitted_at  # waited longer
    return a.case_id < b.case_id


@given(unique_queues, st.randoms())
def test_the_order_is_total_and_independent_of_input_order(
    items: list[QueueItem], rnd: random.Random
) -> None:
    shuffled = list(items)
    rnd.shuffle(shuffled)
    ordered = [e.item for e in order_queue(items, NOW)]
    assert ordered == [e.item for e in order_queue(shuffled, NOW)]
    assert sorted(ordered, key=lambda i: i.case_id) == sorted(items, key=lambda i: i.case_id)
    for earlier, later in itertools.pairwise(ordered):
        assert comes_before(earlier, later)
        assert queue_sort_key(earlier) < queue_sort_key(later)


@given(unique_queues)
def test_flags_follow_the_targets(items: list[QueueItem]) -> None:
    targets = ServiceTargets()
    for entry in order_queue(items, NOW, targets):
        target = targets.for_urgency(entry.item.urgency)
        assert entry.due_at == entry.item.submitted_at + target
        assert entry.overdue == (NOW - entry.item.submitted_at > target)
        assert entry.waiting >= timedelta(0)


@given(unique_queues)
def test_the_documented_sql_order_matches_the_sort_key(items: list[QueueItem]) -> None:
    with sqlite3.connect(":memory:") as db:
        db.execute("CREATE TABLE cases (id INTEGER PRIMARY KEY, urgency TEXT, submitted_at TEXT)")
        db.executemany(
            "INSERT INTO cases VALUES (?, ?, ?)",
            # Fixed-width UTC text sorts like the instants it names.
            [(i.case_id, i.urgency.value, i.submitted_at.strftime("%Y-%m-%dT%H:%M:%S.%f"))
             for i in items],
        )
        rows = db.execute(f"SELECT id FROM cases {QUEUE_ORDER_BY}").fetchall()
    assert [row[0] for row in rows] == [e.item.case_id for e in order_queue(items, NOW)]


def test_the_sql_order_is_the_one_in_the_docstring() -> None:
    doc = " ".join((queue_sort_key.__doc__ or "").split())
    assert " ".join(QUEUE_ORDER_BY.split()) in doc
