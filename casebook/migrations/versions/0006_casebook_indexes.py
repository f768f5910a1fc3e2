"""Cancelled review sessions are kept (their CANCEL mail needs them), marked in their own table;
indexes for the coordinators' queue and status-filtered case listings
(`casebook.models.case_indexes`).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 14:35:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Written out, not imported: a migration must not change when the code does.
WAITING_PREDICATE = (
    "status IN ('submitted', 'information_requested', 'accepted') AND submitted_at IS NOT NULL"
)

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "session_cancellations",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_by_user_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["cancelled_by_user_id"], ["users.id"],
            name=op.f("fk_session_cancellations_cancelled_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["review_sessions.id"],
            name=op.f("fk_session_cancellations_session_id_review_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_session_cancellations")),
    )
    waiting = sa.text(WAITING_PREDICATE)
    op.create_index(
        "ix_cases_waiting", "cases", ["urgency_rank", "submitted_at", "id"],
        postgresql_where=waiting, sqlite_where=waiting,
    )
    op.create_index(
        "ix_cases_status_visibility", "cases",
        ["status", "id", "submitted_at", "referring_center_id", "referrer_user_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_cases_status_visibility", table_name="cases")
    op.drop_index("ix_cases_waiting", table_name="cases")
    op.drop_table("session_cancellations")
