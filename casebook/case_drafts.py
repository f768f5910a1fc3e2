"""Drafts: a new case with the next public code, and its content changed by its referrer while it
is a draft; audited."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from casebook.access import actor_for
from casebook.case_code import format_case_code
from casebook.cases import Caller, CaseView, record
from casebook.clock import utcnow
from casebook.errors import CasebookError
from casebook.models import Case, CaseCounter, CaseStatus
from casebook.triage import Urgency
from casebook.workflow import CLINICAL_ROLES, WorkflowError

# What the referrer writes (and may change while the case is a draft).
EDITABLE_FIELDS = frozenset(
    {
        "patient_initials",
        "patient_age_years",
        "patient_age_months",
        "patient_sex",
        "diagnosis",
        "icd10_code",
        "stage",
        "treatment_so_far",
        "clinical_question",
        "urgency",
    }
)


async def next_case_number(db: AsyncSession, year: int) -> int:
    """The next number of `year`, from a counter row locked by the UPDATE until commit."""
    dialect = db.get_bind().dialect.name
    if dialect in {"postgresql", "sqlite"}:
        dialect_insert = pg_insert if dialect == "postgresql" else sqlite_insert
        await db.execute(
            dialect_insert(CaseCounter)
            .values(year=year, last_number=0)
            .on_conflict_do_nothing(index_elements=["year"])
        )
    elif await db.get(CaseCounter, year) is None:  # pragma: no cover - other databases
        await db.execute(insert(CaseCounter).values(year=year, last_number=0))
    number = await db.scalar(
        update(CaseCounter)
        .where(CaseCounter.year == year)
        .values(last_number=CaseCounter.last_number + 1)
        .returning(CaseCounter.last_number)
        .execution_options(synchronize_session=False)
    )
    assert number is not None
    return int(number)


def _require_clinical(caller: Caller) -> None:
    if caller.role not in CLINICAL_ROLES:
        raise WorkflowError("not_allowed", "Only clinical staff create and edit cases.")


async def create_draft(db: AsyncSession, caller: Caller, fields: Mapping[str, Any]) -> Case:
    """A new draft case of the caller's center, with the next public code; audited."""
    _require_clinical(caller)
    now = utcnow()
    number = await next_case_number(db, now.year)
    case = Case(
        code=format_case_code(now.year, number),
        status=CaseStatus.DRAFT.value,
        referring_center_id=caller.center_id,
        referrer_user_id=caller.user_id,
        created_at=now,
        updated_at=now,
        **_editable(fields),
    )
    db.add(case)
    await db.flush()
    await record(db, caller, "case.created", case)
    return case


def require_editable(caller: Caller, view: CaseView) -> None:
    """Refuse unless `caller` may change the case's content now (its referrer, in draft)."""
    if view.case.status != CaseStatus.DRAFT.value:
        raise WorkflowError("illegal_transition", "Only a case in draft can be edited.")
    if not actor_for(caller.person, view.facts).is_case_referrer or caller.role not in (
        CLINICAL_ROLES
    ):
        raise WorkflowError("not_allowed", "Only the case's referrer may edit a draft.")


def may_edit(caller: Caller, view: CaseView) -> bool:
    """Whether `require_editable` lets `caller` through (to offer the edit page)."""
    try:
        require_editable(caller, view)
    except WorkflowError:
        return False
    return True


async def edit_draft(
    db: AsyncSession, caller: Caller, view: CaseView, fields: Mapping[str, Any]
) -> Case:
    """Change a draft's content: its referrer only, and only while it is a draft."""
    case = view.case
    require_editable(caller, view)
    changes = _editable(fields)
    for name, value in changes.items():
        setattr(case, name, value)
    case.updated_at = utcnow()
    await record(db, caller, "case.edited", case, fields=sorted(changes))
    return case


def _editable(fields: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise CasebookError("invalid_field", f"cannot set {', '.join(sorted(unknown))}")
    return {k: (v.value if isinstance(v, Urgency) else v) for k, v in fields.items()}
