"""A case's submission time agrees with its status: a draft has none, every case past draft has
one except a draft that was withdrawn. The case listing relies on it (`access.sees_every_case_in`).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 02:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

# Written out, not imported: a migration must not change when the code does.
SUBMITTED_BY_STATUS = (
    "(status = 'draft' AND submitted_at IS NULL) OR "
    "(status <> 'draft' AND (submitted_at IS NOT NULL OR status = 'withdrawn'))"
)

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f("ck_cases_submitted_by_status"), SUBMITTED_BY_STATUS)


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_cases_submitted_by_status"), type_="check")
