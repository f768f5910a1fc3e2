"""Indexes for the two hottest case reads at network scale (`bench/casebook.py`, 100,000 cases).

- The coordinators' queue (`casebook.queue`): a partial index on exactly the waiting cases, in
  queue order, so a page is an ordered index scan that stops after `page_size` rows instead of
  sorting every waiting case (`ix_cases_queue` leads with `status`, so `status IN (3 values)`
  cannot come out in queue order from it).
- Case listings filtered by status (`casebook.visible_cases.list_cases`): (status, id) in
  newest-first order, carrying the columns `visible_to` tests, so counting what a caller may see
  is an index-only scan rather than a visit to every matching row.
"""

from __future__ import annotations

from sqlalchemy import Index, text

from casebook.models.cases import Case

# Must list what `casebook.queue.QUEUE_STATUSES` lists (a test checks).
WAITING_PREDICATE = (
    "status IN ('submitted', 'information_requested', 'accepted') AND submitted_at IS NOT NULL"
)

ix_cases_waiting = Index(
    "ix_cases_waiting",
    Case.urgency_rank,
    Case.submitted_at,
    Case.id,
    postgresql_where=text(WAITING_PREDICATE),
    sqlite_where=text(WAITING_PREDICATE),
)

ix_cases_status_visibility = Index(
    "ix_cases_status_visibility",
    Case.status,
    Case.id,
    Case.submitted_at,
    Case.referring_center_id,
    Case.referrer_user_id,
)
