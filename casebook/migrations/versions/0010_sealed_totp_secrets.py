"""TOTP secrets sealed at rest with a key derived from JUNTA_SECRET_KEY (issue 20).

The column grows to hold `casebook.secret_box` values, and every secret still in clear is sealed.
Migrations do not read the app's settings, so the key comes in from outside:
`casebook.schema.upgrade(url, secret_key=...)` (which the app calls with
`Settings.secret_key` before serving) puts it in `config.attributes["secret_key"]`; the alembic
CLI reads `JUNTA_SECRET_KEY` from the environment instead. Without a key the upgrade refuses
when there is a secret to seal, rather than leave it in clear; an empty table needs none.
Downgrading opens the secrets again (with the same key) and shrinks the column.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-11 10:00:00
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import context, op

from casebook.secret_box import SecretBox, is_sealed

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SECRETS = sa.table("two_factor", sa.column("user_id", sa.String), sa.column("secret", sa.String))


def _box() -> SecretBox:
    key = context.config.attributes.get("secret_key") or os.environ.get(
        "JUNTA_SECRET_KEY", ""
    ).encode()
    if not key:
        raise RuntimeError(
            "migration 0010 seals the stored TOTP secrets and needs the server key: run it "
            "through the app (`junta upgrade`) or set JUNTA_SECRET_KEY"
        )
    return SecretBox(key)


def _rewrite(convert: Callable[[str], str], keep: Callable[[str], bool]) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(_SECRETS.c.user_id, _SECRETS.c.secret)).all()
    for user_id, secret in rows:
        if not keep(secret):
            bind.execute(
                _SECRETS.update()
                .where(_SECRETS.c.user_id == user_id)
                .values(secret=convert(secret))
            )


def upgrade() -> None:
    with op.batch_alter_table("two_factor") as batch:
        batch.alter_column(
            "secret", existing_type=sa.String(length=64), type_=sa.String(length=128),
            existing_nullable=False,
        )
    box: SecretBox | None = None

    def seal(secret: str) -> str:
        nonlocal box
        box = box or _box()
        return box.seal(secret)

    _rewrite(seal, is_sealed)


def downgrade() -> None:
    box: SecretBox | None = None

    def unseal(secret: str) -> str:
        nonlocal box
        box = box or _box()
        return box.open(secret)

    _rewrite(unseal, lambda secret: not is_sealed(secret))
    with op.batch_alter_table("two_factor") as batch:
        batch.alter_column(
            "secret", existing_type=sa.String(length=128), type_=sa.String(length=64),
            existing_nullable=False,
        )
