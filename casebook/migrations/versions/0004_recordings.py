"""Recordings of call rooms, their tracks and the consents given for them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 14:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_by_user_id", sa.String(length=36), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("recorder_host", sa.String(length=255), nullable=True),
        sa.Column("recorder_pid", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by_user_id", sa.String(length=36), nullable=True),
        sa.Column("publish_statement", sa.Text(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('recording', 'complete', 'interrupted', 'deleted')",
            name=op.f("ck_recordings_status"),
        ),
        sa.CheckConstraint(
            "kind IN ('lecture', 'case_discussion')", name=op.f("ck_recordings_kind")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["review_sessions.id"],
            name=op.f("fk_recordings_session_id_review_sessions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["started_by_user_id"],
            ["users.id"],
            name=op.f("fk_recordings_started_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["published_by_user_id"],
            ["users.id"],
            name=op.f("fk_recordings_published_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
    )
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recordings_room_id"), ["room_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_recordings_session_id"), ["session_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_recordings_started_by_user_id"), ["started_by_user_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_recordings_started_at"), ["started_at"], unique=False
        )

    op.create_table(
        "recording_tracks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.String(length=128), nullable=False),
        sa.Column("track_id", sa.String(length=128), nullable=False),
        sa.Column("publisher_peer_id", sa.String(length=64), nullable=False),
        sa.Column("publisher_name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("codec", sa.String(length=32), nullable=False),
        sa.Column("stream_id", sa.String(length=128), nullable=False),
        sa.Column("file", sa.String(length=255), nullable=False),
        sa.Column("start_offset", sa.Float(), nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "kind IN ('audio', 'video')", name=op.f("ck_recording_tracks_kind")
        ),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["recordings.id"],
            name=op.f("fk_recording_tracks_recording_id_recordings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_tracks")),
    )
    with op.batch_alter_table("recording_tracks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recording_tracks_recording_id"), ["recording_id"], unique=False
        )

    op.create_table(
        "recording_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.String(length=128), nullable=False),
        sa.Column("peer_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("notice_text", sa.Text(), nullable=False),
        sa.Column("notice_version", sa.String(length=32), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["recordings.id"],
            name=op.f("fk_recording_consents_recording_id_recordings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_recording_consents_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_consents")),
    )
    with op.batch_alter_table("recording_consents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recording_consents_recording_id"), ["recording_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_recording_consents_user_id"), ["user_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("recording_consents")
    op.drop_table("recording_tracks")
    op.drop_table("recordings")
