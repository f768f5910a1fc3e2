"""Refusing text that names the patient: a step that finds direct identifiers is refused with
`IdentifiersFound`, and the refusal is audited (where and what kind, never the identifier)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from casebook.cases import Caller, record
from casebook.identifiers import CASE_TEXT_FIELDS, Finding, IdentifiersFound, find_identifiers
from casebook.models import Case


def text_findings(case: Case) -> list[Finding]:
    """Direct identifiers in the case's own free text (what submission refuses)."""
    texts = {name: getattr(case, name) or "" for name in CASE_TEXT_FIELDS}
    return find_identifiers(texts, [], [case.patient_initials])


async def refuse_identifiers(
    db: AsyncSession, caller: Caller, case: Case, step: str, findings: Sequence[Finding]
) -> None:
    """Raise `IdentifiersFound` if there are findings, audited as `case.identifiers_refused`.

    The audit keeps only where and what kind, never the identifier; the handler commits it.
    """
    if not findings:
        return
    await record(
        db, caller, "case.identifiers_refused", case, step=step,
        findings=[{"field": f.field, "kind": f.kind.value} for f in findings],
    )
    raise IdentifiersFound(findings)


@asynccontextmanager
async def keeping_refusal_audit(db: AsyncSession) -> AsyncIterator[None]:
    """Commit the audit of an `IdentifiersFound` refusal before it propagates.

    The refusal comes before the step writes anything, so only its audit row is committed.
    """
    try:
        yield
    except IdentifiersFound:
        await db.commit()
        raise
