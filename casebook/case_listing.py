"""A page of cases in one round trip: only the columns a listing shows, with the pager's total.

Listings (the case list, the coordinators' queue) are the busiest reads of the casebook. Loading
full `Case` objects (with their joined referrer and center) and counting in a second query cost
more than the query itself; here the page's rows come back as plain tuples and the total rides
along as an uncorrelated scalar subquery, which PostgreSQL evaluates once. The statements are
built once per shape of listing, with the caller's values as bound parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Integer, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from casebook.models import Case, Center


class CaseSummary(NamedTuple):
    """A case as a listing shows it (the attribute names of `Case`, plus the center's name)."""

    id: int
    code: str
    status: str
    urgency: str
    specialty: str | None
    referring_center_id: int
    referring_center_name: str
    patient_initials: str
    patient_age_years: int
    patient_age_months: int
    patient_sex: str
    diagnosis: str
    icd10_code: str
    submitted_at: datetime | None
    updated_at: datetime


SUMMARY_COLUMNS = (
    Case.id,
    Case.code,
    Case.status,
    Case.urgency,
    Case.specialty,
    Case.referring_center_id,
    Center.name.label("referring_center_name"),
    Case.patient_initials,
    Case.patient_age_years,
    Case.patient_age_months,
    Case.patient_sex,
    Case.diagnosis,
    Case.icd10_code,
    Case.submitted_at,
    Case.updated_at,
)
assert len(SUMMARY_COLUMNS) == len(CaseSummary._fields)


@dataclass(frozen=True)
class Listing:
    """A listing's statements, built once and reused (SQLAlchemy then skips rebuilding and
    re-keying them): the page with its total, and the count alone (for a page past the end).

    They take the page as parameters `page_limit` and `page_offset`, plus whatever bound
    parameters `where` holds.
    """

    page: Select[*tuple[Any, ...]]
    count: Select[*tuple[Any, ...]]


class SummaryPage(NamedTuple):
    """A page of a listing: its cases, and how many the listing has."""

    cases: list[CaseSummary]
    total: int


def written_in(name: str, type_: Any = None) -> Any:
    """A parameter written into the SQL text at execution rather than sent apart from it.

    PostgreSQL plans a prepared statement that has parameters anew on every execution while
    its generic plan looks costlier than the custom ones, and with `LIMIT $1` it assumes a
    tenth of the table: the queue's statement was planned again on every execution. With the
    page size, offset and status written in, each page's statement is planned once
    per connection and reused, as plain SQL is. Only for values from a small closed set
    (statuses, urgencies, page numbers), or every value would be a statement of its own.
    """
    return bindparam(name, type_=type_, literal_execute=True)


def listing(where: Sequence[Any], order_by: Sequence[Any]) -> Listing:
    """The statements listing the cases matching `where` in `order_by` order."""
    # correlate(None): the count has its own FROM cases (conditions such as the visibility
    # filter's EXISTS correlate to it), not the page's row.
    count = select(func.count()).select_from(Case).where(*where).correlate(None)
    page = (
        select(*SUMMARY_COLUMNS, count.scalar_subquery().label("total"))
        .join(Center, Center.id == Case.referring_center_id)
        .where(*where)
        .order_by(*order_by)
        .limit(written_in("page_limit", Integer))
        .offset(written_in("page_offset", Integer))
    )
    return Listing(page, count)


async def summary_page(
    db: AsyncSession,
    statements: Listing,
    params: Mapping[str, Any],
    *,
    page: int,
    page_size: int,
) -> SummaryPage:
    """The `page`th `page_size` cases of the listing, and how many it has in all."""
    values = {**params, "page_limit": page_size, "page_offset": (page - 1) * page_size}
    rows = (await db.execute(statements.page, values)).all()
    width = len(CaseSummary._fields)
    if rows:
        return SummaryPage([CaseSummary._make(row[:width]) for row in rows], int(rows[0][width]))
    if page == 1:
        return SummaryPage([], 0)
    # Past the last page: no row carried the total, so count on its own (rare).
    return SummaryPage([], int(await db.scalar(statements.count, dict(params)) or 0))
