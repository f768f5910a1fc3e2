"""Wrong second-factor codes counted per user, and the growing refusal they lead to (issue 20).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-09 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("two_factor", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failures", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("refusals", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("refused_until", sa.DateTime(timezone=True), nullable=True))
    # The defaults only fill the existing rows; the model sets the values from now on.
    with op.batch_alter_table("two_factor", schema=None) as batch_op:
        batch_op.alter_column("failures", server_default=None)
        batch_op.alter_column("refusals", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("two_factor", schema=None) as batch_op:
        batch_op.drop_column("refused_until")
        batch_op.drop_column("refusals")
        batch_op.drop_column("failures")
