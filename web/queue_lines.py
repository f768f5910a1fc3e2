"""The rows of the coordinators' queue page, escaped for HTML once, here.

The queue is the coordinators' busiest page: fifty rows of sixteen values. Escaped by Jinja,
each value costs a `Markup` object at every place it is shown (a case code appears four times
in its row), which was more than half the page's rendering. Here each value is escaped once,
with the standard library's `html.escape`, and `queue.html` prints the rows' values inside an
`{% autoescape false %}` block. Every field of a `QueueLine` is escaped text: the only way to
build one is `queue_line`, which escapes all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import NamedTuple

from casebook.case_listing import CaseSummary
from casebook.triage import QueueEntry
from web.page_routes import local_time


class QueueLine(NamedTuple):
    """A row of the queue page; every text field already escaped for HTML."""

    code: str
    status: str
    status_label: str
    urgency: str
    urgency_label: str
    diagnosis: str
    icd10: str
    center: str
    submitted: str
    due: str
    waiting: str
    overdue: bool


def queue_line(
    case: CaseSummary,
    entry: QueueEntry,
    *,
    waiting_pattern: str,
    labels: Mapping[str, Mapping[str, str]],
) -> QueueLine:
    """The row of `case`; `waiting_pattern` is the translated "%(days)s d %(hours)s h"."""
    waited = entry.waiting
    return QueueLine(
        code=escape(case.code),
        status=escape(case.status),
        status_label=escape(labels["status"].get(case.status, case.status)),
        urgency=escape(case.urgency),
        urgency_label=escape(labels["urgency"].get(case.urgency, case.urgency)),
        diagnosis=escape(case.diagnosis),
        icd10=escape(case.icd10_code),
        center=escape(case.referring_center_name),
        submitted=escape(local_time(case.submitted_at)),
        due=escape(local_time(entry.due_at)),
        waiting=escape(waiting_pattern % {"days": waited.days, "hours": waited.seconds // 3600}),
        overdue=entry.overdue,
    )
